import { createServer } from "node:http";
import { jwtVerify } from "jose";

export interface FakeBackend {
  url: string;
  port: number;
  /** What `GET /internal/inhouse_queues/active` answers; change it between calls. */
  queues: unknown[];
  /** Answer 503 to the next `n` requests (the backend being down). */
  failNext(n: number): void;
  /**
   * Holds every request that arrives from now on until the returned function is called (a backend
   * still building its answer); each held request then answers with `queues` as they are then.
   * `held()` resolves once a request is waiting.
   */
  hold(): { held: Promise<void>; release: () => void };
  /** Authorization headers received, in order, with the status answered. */
  readonly requests: Array<{ path: string; authorization: string | undefined; status: number }>;
  close(): Promise<void>;
}

export interface FakeBackendOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /**
   * When set, requests must carry `Authorization: Bearer <HS256 token signed with this secret>`
   * (the worker's INTERNAL_JWT_SECRET); others are answered 401.
   */
  secret?: string;
}

/** A tiny stand-in for the Rails backend the queue-worker reconciles from. */
export async function startFakeBackend(queues: unknown[] = [], options: FakeBackendOptions = {}): Promise<FakeBackend> {
  let failures = 0;
  let gate: { held: Promise<void>; open: Promise<void>; arrived: () => void; release: () => void } | undefined;
  const key = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
  const requests: FakeBackend["requests"] = [];
  const backend = {
    queues,
    failNext(n: number) {
      failures = n;
    },
    hold() {
      let arrived: () => void = () => {};
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const open = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = { held, open, arrived, release };
      return {
        held,
        release: () => {
          gate = undefined;
          release();
        },
      };
    },
    requests,
  };

  const authorized = async (header: string | undefined): Promise<boolean> => {
    if (!key) return true;
    const token = /^Bearer (.+)$/.exec(header ?? "")?.[1];
    if (!token) return false;
    try {
      await jwtVerify(token, key, { algorithms: ["HS256"] });
      return true;
    } catch {
      return false;
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const pending = gate;
      if (pending) {
        pending.arrived();
        await pending.open;
      }
      let status: number;
      if (failures > 0) {
        failures--;
        status = 503;
      } else if (req.url !== "/internal/inhouse_queues/active") status = 404;
      else status = (await authorized(req.headers.authorization)) ? 200 : 401;
      requests.push({ path: req.url ?? "", authorization: req.headers.authorization, status });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(
        status === 200
          ? JSON.stringify({ queues: backend.queues })
          : JSON.stringify({ error: status === 401 ? "unauthorized" : "unavailable" }),
      );
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  const host = options.host ?? "127.0.0.1";
  return Object.assign(backend, {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        gate?.release();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
