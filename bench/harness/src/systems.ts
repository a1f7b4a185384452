import { setTimeout as sleep } from "node:timers/promises";
import { freePort, gatewayEnv, type HubProcess, spawnHubProcess, userToken } from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import type { WireProtocol } from "./load/wire-connection.js";

export type SystemName = "hub" | "plain" | "raw";

/** What the fanout payload carries; clients read `bench_seq` and `bench_sent` from the raw frame. */
export interface BenchPayload {
  bench_seq: number;
  /** Producer's scheduled send time, epoch ms with sub-ms precision (performance.timeOrigin + now). */
  bench_sent: number;
  pad: string;
}

/** A running system under test: its server processes, how clients reach it, and its producer. */
export interface SystemUnderTest {
  name: SystemName;
  /** WebSocket URLs, one per server process. */
  urls: string[];
  /** HTTP base URLs (`http://127.0.0.1:port`), one per server process: the hub's `/metrics`, the baselines' `/stats`. */
  httpUrls: string[];
  /** PIDs of the server processes whose CPU time is charged to the system. */
  serverPids: number[];
  protocol: WireProtocol;
  /**
   * Publishes one event to the topic; errors are counted, not thrown. `onId` is told the event's id
   * once the hub's SDK reports it (the baselines have no ids).
   */
  publish(payload: BenchPayload, onId?: (id: string) => void): void;
  /** Publishes one event to user `user`'s own topic (`notifications:{user}`); absent where the system has no per-user topics (raw). */
  publishToUser?(user: string, payload: BenchPayload): void;
  /** Resolves once every publish call so far has settled; returns the number that failed. */
  settle(): Promise<number>;
  close(): Promise<void>;
}

export const BENCH_ORG = "bench";
export const BENCH_TOPIC = `org:${BENCH_ORG}`;
export const RAW_CHANNEL = "bench:fanout";

export interface StartOptions {
  redisUrl: string;
  /** Server processes to start. @default 2 */
  nodes?: number;
  /** Extra environment for the server processes (NODE_OPTIONS for a heap snapshot on a signal). */
  env?: Record<string, string>;
}

export function startSystem(name: SystemName, options: StartOptions): Promise<SystemUnderTest> {
  switch (name) {
    case "hub":
      return startHub(options);
    case "plain":
      return startPlain(options);
    case "raw":
      return startRaw(options);
  }
}

async function startHub(options: StartOptions): Promise<SystemUnderTest> {
  const redis = new Redis(options.redisUrl);
  let servers: HubProcess[] = [];
  try {
    const gateways = await spawnGateways(options.nodes ?? 2, { REDIS_URL: options.redisUrl, ...options.env });
    servers = gateways.map((g) => g.process);
    const ports = gateways.map((g) => g.port);
    const token = await userToken({ sub: "bench-user", org_id: BENCH_ORG }, { expiresIn: 24 * 3600 });
    const emitter = createHubEmitter({ redis });
    const inFlight = new InFlight();
    return {
      name: "hub",
      urls: ports.map((port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`),
      httpUrls: ports.map((port) => `http://127.0.0.1:${port}`),
      serverPids: servers.map((s) => s.child.pid as number),
      // coalesce: as the client SDK does by default (batch frames, see docs/protocol.md).
      protocol: { kind: "socket.io", auth: { token, coalesce: true }, topic: BENCH_TOPIC },
      publish(payload, onId) {
        const published = emitter.publish({ type: "roster.bench", org_id: BENCH_ORG, payload: { ...payload } });
        inFlight.add(onId ? published.then((result) => onId(result.id)) : published);
      },
      publishToUser(user, payload) {
        inFlight.add(emitter.publish({ type: "notification.created", org_id: BENCH_ORG, user_id: user, payload: { ...payload } }));
      },
      settle: () => inFlight.settle(),
      close: () => closeAll(servers, redis),
    };
  } catch (error) {
    await closeAll(servers, redis);
    throw error;
  }
}

async function startPlain(options: StartOptions): Promise<SystemUnderTest> {
  const servers = await spawnBaselines("bench/harness/src/servers/plain-server.ts", options.nodes ?? 2, {
    REDIS_URL: options.redisUrl,
    ...options.env,
  });
  const redis = new Redis(options.redisUrl);
  const emitter = new Emitter(redis);
  let failed = 0;
  return {
    name: "plain",
    urls: servers.map((s) => `ws://127.0.0.1:${s.port}/socket.io/?EIO=4&transport=websocket`),
    httpUrls: servers.map((s) => `http://127.0.0.1:${s.port}`),
    serverPids: servers.map((s) => s.process.child.pid as number),
    protocol: { kind: "socket.io", auth: undefined, topic: BENCH_TOPIC },
    publish(payload) {
      try {
        emitter.to(BENCH_TOPIC).emit("roster.bench", payload);
      } catch {
        failed++;
      }
    },
    publishToUser(user, payload) {
      try {
        emitter.to(`notifications:${user}`).emit("notification.created", payload);
      } catch {
        failed++;
      }
    },
    async settle() {
      await redis.ping();
      return failed;
    },
    close: () =>
      closeAll(
        servers.map((s) => s.process),
        redis,
      ),
  };
}

async function startRaw(options: StartOptions): Promise<SystemUnderTest> {
  const servers = await spawnBaselines("bench/harness/src/servers/raw-server.ts", options.nodes ?? 2, {
    REDIS_URL: options.redisUrl,
    BENCH_CHANNEL: RAW_CHANNEL,
    ...options.env,
  });
  const redis = new Redis(options.redisUrl);
  const inFlight = new InFlight();
  return {
    name: "raw",
    urls: servers.map((s) => `ws://127.0.0.1:${s.port}/`),
    httpUrls: servers.map((s) => `http://127.0.0.1:${s.port}`),
    serverPids: servers.map((s) => s.process.child.pid as number),
    protocol: { kind: "raw" },
    publish(payload) {
      inFlight.add(redis.publish(RAW_CHANNEL, JSON.stringify(payload)));
    },
    settle: () => inFlight.settle(),
    close: () =>
      closeAll(
        servers.map((s) => s.process),
        redis,
      ),
  };
}

/**
 * Starts `nodes` gateways (`LOG_LEVEL=warn`, `NODE_ENV=production`) with `env` (the Redis to use)
 * and resolves once each answers /health/ready.
 */
export async function spawnGateways(nodes: number, env: Record<string, string>): Promise<Array<{ process: HubProcess; port: number }>> {
  // startGateway waits for info-level log lines, which LOG_LEVEL=warn silences; poll readiness instead.
  const gateways: Array<{ process: HubProcess; port: number }> = [];
  try {
    for (let i = 0; i < nodes; i++) {
      const port = await freePort();
      const gateway = spawnHubProcess(
        "apps/gateway/src/main.ts",
        gatewayEnv({
          PORT: String(port),
          LOG_LEVEL: "warn",
          NODE_ENV: "production",
          CORS_ORIGINS: "http://127.0.0.1",
          // BENCH_SERVER_NODE_OPTIONS="--require .../profiling/cpu-profile.cjs" profiles the gateways (bench/README.md).
          ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
          ...env,
        }),
      );
      gateways.push({ process: gateway, port });
    }
    await Promise.all(gateways.map((g) => waitReady(`http://127.0.0.1:${g.port}/health/ready`, g.process)));
    return gateways;
  } catch (error) {
    await Promise.all(gateways.map((g) => g.process.kill()));
    throw error;
  }
}

/** Starts `nodes` baseline servers running `script` with `env` and resolves with the port each listens on. */
export async function spawnBaselines(
  script: string,
  nodes: number,
  env: Record<string, string>,
): Promise<Array<{ process: HubProcess; port: number }>> {
  const processes: HubProcess[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      processes.push(
        spawnHubProcess(script, {
          PATH: process.env.PATH,
          NODE_ENV: "production",
          ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
          ...env,
        }),
      );
    }
    const lines = await Promise.all(
      processes.map((p) =>
        withTimeout(
          p.waitForLog((l) => l.msg === "listening"),
          30_000,
          script,
        ),
      ),
    );
    return lines.map((line, i) => ({ process: processes[i] as HubProcess, port: line.port as number }));
  } catch (error) {
    await Promise.all(processes.map((p) => p.kill()));
    throw error;
  }
}

async function waitReady(url: string, server: HubProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`gateway exited (${server.child.exitCode}): ${server.stderr().slice(-2000)}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`gateway not ready at ${url} after 30 s: ${server.stderr().slice(-2000)}`);
}

/** Disconnects the producer's Redis client and stops the servers (killed after 10 s). */
export async function closeAll(servers: readonly HubProcess[], redis: { disconnect(): void }): Promise<void> {
  redis.disconnect();
  await Promise.all(
    servers.map(async (s) => {
      const stopped = s.stop();
      const timer = setTimeout(() => void s.kill(), 10_000);
      await stopped;
      clearTimeout(timer);
    }),
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Publishes that have not settled yet, and how many failed. */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();
  private failed = 0;

  add(promise: Promise<unknown>): void {
    const tracked: Promise<unknown> = promise.then(
      () => this.pending.delete(tracked),
      () => {
        this.failed++;
        this.pending.delete(tracked);
      },
    );
    this.pending.add(tracked);
  }

  async settle(): Promise<number> {
    await Promise.all(this.pending);
    return this.failed;
  }
}
