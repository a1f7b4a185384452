import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

/** What a baseline adds to `/stats` besides process.memoryUsage(): its connections, and why they closed. */
export interface ServerFigures {
  /** Connections open now. */
  connections: number;
  /** Connections closed since start, by the server library's reason ("ping timeout", "transport close"...). */
  disconnects?: Record<string, number>;
  /** Room broadcasts received from Redis pub/sub since start (cluster-scaling scenario). */
  pubsubMessages?: number;
}

/**
 * `GET /stats`: the baseline's own figures, process.memoryUsage() (connections scenario) and
 * `figures()` (slow-consumers and cluster-scaling scenarios).
 */
export function statsRoute(figures: () => ServerFigures): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ...process.memoryUsage(), ...figures() }));
      return;
    }
    if (!res.headersSent) {
      res.writeHead(404);
      res.end();
    }
  };
}
