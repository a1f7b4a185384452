import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface MetricsServerOptions {
  registry: Registry;
  /** `METRICS_PORT` (0 picks a free one). */
  port: number;
  /** `HOST`. */
  host: string;
  /** The `/health` answer: 200 when `ok`, else 503. */
  health(): { ok: boolean; body: Record<string, unknown> };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The worker's only HTTP listener: `GET /metrics` (Prometheus text) and `GET /health`. Like the
 * gateways' `/metrics`, it has no authentication: keep it on a private network.
 */
export async function startMetricsServer({ registry, port, host, health }: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const get = req.method === "GET" || req.method === "HEAD";
    if (get && path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        () => res.writeHead(500, { "content-type": "application/json" }).end(error("internal", "could not collect the metrics")),
      );
      return;
    }
    if (get && path === "/health") {
      const { ok, body } = health();
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(error("not_found", "no such route"));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function error(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}
