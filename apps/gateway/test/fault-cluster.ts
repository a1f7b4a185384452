// The fault matrix's cluster: a redis-server that can restart with or without its AOF, a TCP proxy
// between it and every hub process, three gateways behind the real HAProxy, one queue-worker, and a
// producer that reaches Redis directly (a backend service elsewhere on the network).
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort,
  type GatewayProcess,
  type HubProcess,
  startGateway,
  startTcpProxy,
  startWorker,
  stopChild,
  type TcpProxy,
  track,
  until,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import { Redis } from "ioredis";
import { type HaproxyProcess, startHaproxy } from "./haproxy-process.js";

/** How the Redis keeps its data: an append-only file fsynced before each reply, or nothing on disk. */
export type Persistence = "aof" | "none";

export interface LocalRedis {
  readonly port: number;
  readonly url: string;
  readonly persistence: Persistence;
  /** kill -9 and start again on the same port: with "aof" it loads what it wrote, with "none" it comes back empty. */
  restart(persistence: Persistence, options?: { whileDown?: () => Promise<void> }): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server on a fixed port with its own data directory. */
export async function startLocalRedis(persistence: Persistence): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), "hub-fault-redis-"));
  const port = await freePort();
  let current = await launchRedis(port, dir, persistence);
  let mode = persistence;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get persistence() {
      return mode;
    },
    async restart(next, options = {}) {
      await stopChild(current, "SIGKILL");
      // Without persistence there is nothing on disk to come back with.
      if (next === "none") await rm(join(dir, "appendonlydir"), { recursive: true, force: true });
      await options.whileDown?.();
      current = await launchRedis(port, dir, next);
      mode = next;
    },
    async stop() {
      await stopChild(current);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function launchRedis(port: number, dir: string, persistence: Persistence): Promise<ReturnType<typeof spawn>> {
  // appendfsync always: a write is on disk before its reply, so a kill -9 loses nothing acknowledged.
  const storage = persistence === "aof" ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...storage, "--protected-mode", "no"];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  track(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes("Ready to accept connections")) return;
      child.stdout?.off("data", onData);
      resolve(child);
    };
    child.stdout?.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${output.slice(-2000)}`)));
  });
}

export interface WorkerProcess extends HubProcess {
  /** The worker's `GET /health`. */
  healthUrl: string;
}

export interface FaultCluster {
  redis: LocalRedis;
  /** Between Redis and every hub process (gateways and worker); the producer bypasses it. */
  proxy: TcpProxy;
  /** By HAProxy slot (gateway-1, -2, -3); a restarted gateway replaces its entry. */
  gateways: GatewayProcess[];
  haproxy: HaproxyProcess;
  worker: WorkerProcess;
  /** Straight to Redis; fails fast while Redis is down, so a producer's retry loop sees it. */
  producer: Redis;
  emitter: HubEmitter;
  /** Starts a new gateway process in `slot`, on the slot's port (HAProxy knows it by address). */
  restartGateway(slot: number): Promise<GatewayProcess>;
  /** Resolves once every gateway answers /health/ready 200, HAProxy has them all UP and the worker's /health is 200. */
  healthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The limits the cluster's gateways run with, where they differ from devkit's generous test values
 * (gatewayEnv): the rows "1,000 slow consumers" and "connection storm" test these two.
 */
export const FAULT_LIMITS = {
  /** The smallest cap allowed (docs/operations.md "Limits"): the memory bound of the slow row is tightest with it. */
  clientBufferBytes: 65_536,
  /**
   * New handshakes per address and second, on each gateway (a token bucket: bursts up to as many).
   * The storm row's 2,500 clients, all from one address, reconnect within about a second: far past it.
   */
  handshakesPerSecond: 100,
} as const;

/**
 * HAProxy's maxconn: the storm row holds 2,500 connections through it, more while they reconnect. It needs about two open
 * files per connection and the machine allows 20,000 per process: 9,000 keeps it below that.
 */
const HAPROXY_MAXCONN = 9_000;

export async function startFaultCluster(): Promise<FaultCluster> {
  const redis = await startLocalRedis("aof");
  const proxy = await startTcpProxy({ target: { port: redis.port } });
  const redisUrl = `redis://127.0.0.1:${proxy.port}`;
  const ports = [await freePort(), await freePort(), await freePort()] as const;
  const healthPorts = [await freePort(), await freePort(), await freePort()] as const;
  const generations = [0, 0, 0];
  const launchGateway = (slot: number) =>
    startGateway({
      REDIS_URL: redisUrl,
      PORT: String(ports[slot]),
      // The balancer checks here: answered while a storm queues connections on PORT.
      HEALTH_PORT: String(healthPorts[slot]),
      // A restarted process is a new node, as with the default `<hostname>-<pid>`.
      HUB_NODE_ID: `fm-gw${slot + 1}-${++(generations[slot] as number)}`,
      CLIENT_BUFFER_BYTES: String(FAULT_LIMITS.clientBufferBytes),
      HANDSHAKES_PER_IP_PER_SECOND: String(FAULT_LIMITS.handshakesPerSecond),
      // Behind HAProxy (`option forwardfor`): the per-address limits read X-Forwarded-For. Every
      // client here is 127.0.0.1 either way; connections made straight to a gateway use the peer.
      TRUST_PROXY: "true",
    });
  const gateways = await Promise.all([0, 1, 2].map(launchGateway));
  const haproxy = await startHaproxy({ ports, healthPorts, maxconn: HAPROXY_MAXCONN });
  const workerProcess = await startWorker({ REDIS_URL: redisUrl, HUB_NODE_ID: "fm-worker" });
  const started = await workerProcess.waitForLog((l) => l.msg === "queue-worker started");
  const worker: WorkerProcess = Object.assign(workerProcess, { healthUrl: `http://127.0.0.1:${started.metrics_port as number}/health` });
  const producer = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 100 });
  producer.on("error", () => undefined);
  await until("the producer's Redis connection", () => producer.status === "ready");

  const status = async (url: string) => {
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
    } catch {
      return 0;
    }
  };
  const cluster: FaultCluster = {
    redis,
    proxy,
    gateways,
    haproxy,
    worker,
    producer,
    emitter: createHubEmitter({ redis: producer }),
    async restartGateway(slot) {
      const gateway = await launchGateway(slot);
      cluster.gateways[slot] = gateway;
      return gateway;
    },
    async healthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      await until(
        "every gateway's /health/ready and the worker's /health to answer 200",
        async () => {
          const answers = await Promise.all([...cluster.gateways.map((g) => status(`${g.url}/health/ready`)), status(worker.healthUrl)]);
          return answers.every((code) => code === 200);
        },
        timeoutMs,
      );
      await haproxy.allUp(Math.max(1_000, deadline - Date.now()));
    },
    async close() {
      producer.disconnect();
      // Front to back: nothing waits on a component that is already gone.
      await haproxy.stop();
      await Promise.allSettled([...cluster.gateways.map((g) => g.stop()), worker.stop()]);
      await proxy.close();
      await redis.stop();
    },
  };
  return cluster;
}

/** A gateway's resident set size, bytes (VmRSS of /proc/<pid>/status). */
export async function rssOf(gateway: GatewayProcess): Promise<number> {
  const status = await readFile(`/proc/${gateway.child.pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for gateway pid ${gateway.child.pid}`);
  return Number(kib) * 1024;
}
