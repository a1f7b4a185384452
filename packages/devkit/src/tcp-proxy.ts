import { createConnection, createServer, type Server, type Socket } from "node:net";

/** What the proxy does with the bytes it carries, switchable at any time. */
export type TcpProxyMode = { kind: "pass" } | { kind: "delay"; ms: number } | { kind: "blackhole" };

export interface TcpProxyOptions {
  /** Where every accepted connection is forwarded. */
  target: { host?: string; port: number };
  /** Mode to start in. @default { kind: "pass" } */
  mode?: TcpProxyMode;
  /** Port to listen on, e.g. a closed proxy's, so clients that reconnect to it find a new one. @default an ephemeral port */
  port?: number;
}

export interface TcpProxy {
  readonly host: "127.0.0.1";
  /** The ephemeral port it listens on. */
  readonly port: number;
  readonly mode: TcpProxyMode;
  /** Client connections open now. */
  readonly connections: number;
  /** Bytes read from either side and not forwarded yet (held by a delay or a blackhole). */
  readonly held: number;
  /** Forwards everything as it comes; what was held (delay, blackhole) goes out at once, in order. */
  pass(): void;
  /** Holds each chunk `ms` after it arrived before forwarding it, both directions, order kept. */
  delay(ms: number): void;
  /**
   * Forwards nothing: new connections are accepted but not connected to the target, open ones go
   * silent. Bytes (and closes) that arrive meanwhile are held, not dropped, as TCP would retransmit
   * them after a healed partition; `pass()` or `delay()` lets them through in order.
   */
  blackhole(): void;
  /** Stops listening and destroys every connection it owns, on both sides. */
  close(): Promise<void>;
}

/** Past this many held bytes in one direction the sender is paused (TCP backpressure), below LOW resumed. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

type Item = { kind: "data"; chunk: Buffer; at: number } | { kind: "end"; at: number } | { kind: "reset"; at: number };

/** One direction of one connection: what came from `source` and is still to be written to the other side. */
interface Pipe {
  readonly queue: Item[];
  bytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  draining: boolean;
  done: boolean;
}

interface Link {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** client -> target */
  readonly up: Pipe;
  /** target -> client */
  readonly down: Pipe;
}

/**
 * Starts a TCP proxy on an ephemeral 127.0.0.1 port in front of `target`, for fault injection in
 * tests: point a process at it instead of the real server, then switch its mode while it runs.
 *
 * @example
 * const redis = await startRedis();
 * const proxy = await startTcpProxy({ target: { port: redis.port } });
 * const gateway = await startGateway({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
 * proxy.delay(300); // Redis answers 300 ms late (each way)
 * proxy.blackhole(); // ... or not at all
 * proxy.pass();
 * await proxy.close();
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const target = { host: options.target.host ?? "127.0.0.1", port: options.target.port };
  let mode: TcpProxyMode = options.mode ?? { kind: "pass" };
  const links = new Set<Link>();
  let closed = false;

  const holdMs = (): number => (mode.kind === "delay" ? mode.ms : 0);

  const pump = (link: Link, pipe: Pipe): void => {
    clearTimeout(pipe.timer);
    pipe.timer = undefined;
    if (closed || mode.kind === "blackhole" || pipe.draining || pipe.done) return;
    const source = pipe === link.up ? link.client : link.upstream;
    const dest = pipe === link.up ? link.upstream : link.client;
    if (!dest) return;
    for (;;) {
      const head = pipe.queue[0];
      if (!head) return;
      const wait = head.at + holdMs() - Date.now();
      if (wait > 0) {
        pipe.timer = setTimeout(() => pump(link, pipe), wait);
        return;
      }
      pipe.queue.shift();
      if (head.kind === "reset") {
        pipe.done = true;
        dest.destroy();
        return;
      }
      if (head.kind === "end") {
        pipe.done = true;
        dest.end();
        return;
      }
      pipe.bytes -= head.chunk.length;
      if (source?.isPaused() && pipe.bytes < LOW_WATER) source.resume();
      if (!dest.write(head.chunk)) {
        pipe.draining = true;
        dest.once("drain", () => {
          pipe.draining = false;
          pump(link, pipe);
        });
        return;
      }
    }
  };

  /** Reads `source` into `pipe`: bytes, its end and its failure, all in arrival order. */
  const feed = (link: Link, source: Socket, pipe: Pipe): void => {
    const push = (item: Item) => {
      pipe.queue.push(item);
      pump(link, pipe);
    };
    source.on("data", (chunk: Buffer) => {
      pipe.bytes += chunk.length;
      if (pipe.bytes > HIGH_WATER) source.pause();
      push({ kind: "data", chunk, at: Date.now() });
    });
    source.on("end", () => push({ kind: "end", at: Date.now() }));
    // A reset (or a refused connection to the target) reaches the other side as a reset.
    source.on("error", () => push({ kind: "reset", at: Date.now() }));
    source.on("close", () => {
      if (link.client.destroyed && (link.upstream === undefined || link.upstream.destroyed)) forget(link);
    });
  };

  const forget = (link: Link): void => {
    clearTimeout(link.up.timer);
    clearTimeout(link.down.timer);
    links.delete(link);
  };

  const connectUpstream = (link: Link): void => {
    if (link.upstream || link.client.destroyed) return;
    const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true });
    link.upstream = upstream;
    feed(link, upstream, link.down);
    upstream.once("close", () => {
      // The target went away before the client did (and said nothing, e.g. refused): tell the client.
      if (!link.down.done && !link.down.queue.some((item) => item.kind !== "data")) {
        link.down.queue.push({ kind: "reset", at: Date.now() });
        pump(link, link.down);
      }
    });
    pump(link, link.up);
    pump(link, link.down);
  };

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (client) => {
    if (closed) {
      client.destroy();
      return;
    }
    const link: Link = { client, upstream: undefined, up: newPipe(), down: newPipe() };
    links.add(link);
    feed(link, client, link.up);
    // Blackholed: the connection stays accepted but never reaches the target (until the mode changes).
    if (mode.kind !== "blackhole") connectUpstream(link);
  });

  const setMode = (next: TcpProxyMode): void => {
    if (closed) throw new Error("the proxy is closed");
    mode = next;
    if (mode.kind === "blackhole") return;
    for (const link of links) {
      connectUpstream(link);
      pump(link, link.up);
      pump(link, link.down);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };

  return {
    host: "127.0.0.1",
    port,
    get mode() {
      return mode;
    },
    get connections() {
      return links.size;
    },
    get held() {
      let bytes = 0;
      for (const link of links) bytes += link.up.bytes + link.down.bytes;
      return bytes;
    },
    pass: () => setMode({ kind: "pass" }),
    delay: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay must be a non-negative number of ms, got ${ms}`);
      setMode({ kind: "delay", ms });
    },
    blackhole: () => setMode({ kind: "blackhole" }),
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const link of links) {
        forget(link);
        link.client.destroy();
        link.upstream?.destroy();
      }
      return stopped;
    },
  };
}

function newPipe(): Pipe {
  return { queue: [], bytes: 0, timer: undefined, draining: false, done: false };
}
