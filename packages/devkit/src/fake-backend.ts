import { createServer, type Server } from "node:http";

export interface FakeBackend {
  url: string;
  /** What `GET /internal/inhouse_queues/active` answers; change it between calls. */
  queues: unknown[];
  /** Answer 503 to the next `n` requests (the backend being down). */
  failNext(n: number): void;
  /** Authorization headers received, in order. */
  readonly requests: Array<{ path: string; authorization: string | undefined; status: number }>;
  close(): Promise<void>;
}

/** A tiny stand-in for the Rails backend the queue-worker reconciles from, on a free loopback port. */
export async function startFakeBackend(queues: unknown[] = []): Promise<FakeBackend> {
  let failures = 0;
  const state: Omit<FakeBackend, "url" | "close"> & { server?: Server } = {
    queues,
    failNext(n) {
      failures = n;
    },
    requests: [],
  };
  const server = createServer((req, res) => {
    const status = failures > 0 ? 503 : req.url === "/internal/inhouse_queues/active" ? 200 : 404;
    if (failures > 0) failures--;
    state.requests.push({ path: req.url ?? "", authorization: req.headers.authorization, status });
    res.writeHead(status, { "content-type": "application/json" });
    res.end(status === 200 ? JSON.stringify({ queues: state.queues }) : JSON.stringify({ error: "unavailable" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as FakeBackend;
}
