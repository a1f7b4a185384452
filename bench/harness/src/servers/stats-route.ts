import type { IncomingMessage, ServerResponse } from "node:http";

/** `GET /stats`: the baseline's own memory figures (process.memoryUsage()), for the connections scenario. */
export function statsRoute(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(process.memoryUsage()));
    return;
  }
  if (!res.headersSent) {
    res.writeHead(404);
    res.end();
  }
}
