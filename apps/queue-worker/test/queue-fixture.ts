import { randomBytes } from "node:crypto";
import {
  connectClient,
  type GatewayProcess,
  type HubClient,
  type HubProcess,
  type RedisCluster,
  type RedisServer,
  request,
  serviceToken,
  startGateway,
  startRedis,
  startWorker,
  userToken,
} from "@hub/devkit";
import type { Envelope, Queue } from "@hub/events";

/**
 * A running hub with inhouse queues, whatever its engine:
 * - `memory`: one gateway, which runs the queues in process;
 * - `redis`: a redis-server, two gateways and two queue-worker processes;
 * - `cluster`: two gateways and two queue-worker processes on a Redis Cluster (`REDIS_CLUSTER_NODES`).
 */
export type EngineName = "memory" | "redis" | "cluster";

export interface QueueHub {
  engine: EngineName;
  checkInTimeoutMs: number;
  gateways: GatewayProcess[];
  workers: HubProcess[];
  redis: RedisServer | undefined;
  /** The processes that run the queues and log their refusals: the gateway (memory) or the workers. */
  runners: HubProcess[];
  /** `POST /api/v1/inhouse/commands` on one gateway; a service token unless `token` is given (null: none). */
  post(body: unknown, options?: { token?: string | null; gateway?: number }): Promise<Response>;
  /** Posts commands, expects `202 { ids }` and returns the ids. */
  send(body: unknown, gateway?: number): Promise<string[]>;
  close(): Promise<void>;
}

export interface QueueHubOptions {
  checkInTimeoutMs: number;
  /** The Redis Cluster of the `cluster` engine; the caller starts and stops it (hubs may share one). */
  cluster?: RedisCluster;
  /** `HUB_KEY_PREFIX`: hubs sharing a Redis Cluster need their own. @default "hub" */
  keyPrefix?: string;
  /** Copies the children's output to this process's (debugging). */
  echo?: boolean;
}

let serviceJwt: Promise<string> | undefined;
const service = () => {
  serviceJwt ??= serviceToken("queue-tests");
  return serviceJwt;
};

export async function startQueueHub(
  engine: EngineName,
  { checkInTimeoutMs, cluster, keyPrefix = "hub", echo = false }: QueueHubOptions,
): Promise<QueueHub> {
  const common = { CHECK_IN_TIMEOUT_MS: String(checkInTimeoutMs), LOG_LEVEL: "info", HUB_KEY_PREFIX: keyPrefix };
  let redis: RedisServer | undefined;
  let gateways: GatewayProcess[];
  let workers: HubProcess[] = [];
  if (engine === "memory") {
    gateways = [await startGateway({ ...common, HUB_NODE_ID: "gw-memory" })];
  } else {
    if (engine === "redis") redis = await startRedis();
    else if (!cluster) throw new Error("the cluster engine needs a Redis Cluster");
    const target = redis ? { REDIS_URL: redis.url } : { REDIS_CLUSTER_NODES: cluster?.seeds };
    [gateways, workers] = await Promise.all([
      Promise.all([1, 2].map((i) => startGateway({ ...common, ...target, HUB_NODE_ID: `gw-${i}` }))),
      Promise.all([1, 2].map((i) => startWorker({ ...common, ...target, HUB_NODE_ID: `worker-${i}` }))),
    ]);
  }
  if (echo) for (const p of [...gateways, ...workers]) p.child.stdout?.on("data", (c: Buffer) => process.stdout.write(c));

  const post = async (body: unknown, options: { token?: string | null; gateway?: number } = {}) => {
    const token = options.token === undefined ? await service() : options.token;
    const gateway = gateways[(options.gateway ?? 0) % gateways.length] as GatewayProcess;
    return fetch(`${gateway.url}/api/v1/inhouse/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
  };

  return {
    engine,
    checkInTimeoutMs,
    gateways,
    workers,
    redis,
    runners: engine === "memory" ? gateways : workers,
    post,
    async send(body, gateway = 0) {
      const res = await post(body, { gateway });
      const text = await res.text();
      if (res.status !== 202) throw new Error(`commands refused: ${res.status} ${text}`);
      return (JSON.parse(text) as { ids: string[] }).ids;
    },
    async close() {
      await Promise.allSettled([...workers, ...gateways].map((p) => p.stop()));
      await redis?.stop();
    },
  };
}

/** A fresh id, so every test has its own orgs and queues. */
export function fresh(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Connects a user of an org. */
export async function connectUser(url: string, org: string, sub: string): Promise<HubClient> {
  return connectClient(url, await userToken({ sub, org_id: org }));
}

export interface QueueEvent {
  event: "queue_updated" | "check_in_expired" | "session_started";
  envelope: Envelope<{ queue: Queue; removed?: string[] }>;
  /** This process's clock when it arrived. */
  at: number;
}

/** A client subscribed to `inhouse:{org}` that records every queue event, in arrival order. */
export interface QueueWatcher {
  client: HubClient;
  events: QueueEvent[];
  /** The events of one queue (of one kind, when given). */
  of(queueId: string, event?: QueueEvent["event"]): QueueEvent[];
  /** `queue_updated` versions of one queue, in arrival order. */
  versions(queueId: string): number[];
  /**
   * Resolves with the first event of that queue (already arrived or to come) whose queue matches;
   * rejects after `timeoutMs` (a failure bound, not a wait) listing what arrived.
   */
  until(queueId: string, match: (queue: Queue) => boolean, event?: QueueEvent["event"], timeoutMs?: number): Promise<QueueEvent>;
}

const EVENTS = ["queue_updated", "check_in_expired", "session_started"] as const;

export async function watchQueues(url: string, org: string, sub = "watcher"): Promise<QueueWatcher> {
  const client = await connectUser(url, org, sub);
  const events: QueueEvent[] = [];
  const waiters = new Set<(e: QueueEvent) => void>();
  for (const event of EVENTS) {
    (client as unknown as { on(e: string, fn: (m: QueueEvent["envelope"]) => void): void }).on(event, (envelope) => {
      const seen: QueueEvent = { event, envelope, at: Date.now() };
      events.push(seen);
      for (const waiter of [...waiters]) waiter(seen);
    });
  }
  const reply = await request(client, "subscribe", { topic: `inhouse:${org}` });
  if ((reply as { ok?: boolean }).ok !== true) throw new Error(`subscribe refused: ${JSON.stringify(reply)}`);
  const of = (queueId: string, event?: QueueEvent["event"]) =>
    events.filter((e) => e.envelope.data.queue.id === queueId && (event === undefined || e.event === event));
  return {
    client,
    events,
    of,
    versions: (queueId) => of(queueId, "queue_updated").map((e) => e.envelope.data.queue.version),
    until(queueId, match, event = "queue_updated", timeoutMs = 10_000) {
      const hit = (e: QueueEvent) => e.event === event && e.envelope.data.queue.id === queueId && match(e.envelope.data.queue);
      const found = events.find(hit);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const history = of(queueId).map((e) => `${e.event} ${JSON.stringify(e.envelope.data)}`);
          reject(new Error(`no matching ${event} of ${queueId} within ${timeoutMs} ms; seen:\n${history.join("\n")}`));
        }, timeoutMs);
        const waiter = (e: QueueEvent) => {
          if (!hit(e)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(e);
        };
        waiters.add(waiter);
      });
    },
  };
}

/** A queue at exactly this version. */
export const atVersion = (version: number) => (queue: Queue) => queue.version === version;

/**
 * Resolves with the log lines of `processes` that match once there are at least `count` of them;
 * re-checked whenever a process prints. Rejects after `timeoutMs` (a failure bound).
 */
export function waitForLogs(
  processes: readonly HubProcess[],
  match: (line: Record<string, unknown>) => boolean,
  count = 1,
  timeoutMs = 10_000,
): Promise<Array<Record<string, unknown>>> {
  const found = () => processes.flatMap((p) => p.logs.filter(match));
  return new Promise((resolve, reject) => {
    const check = () => {
      const lines = found();
      if (lines.length < count) return false;
      done();
      resolve(lines);
      return true;
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`expected ${count} matching log lines within ${timeoutMs} ms, found ${found().length}`));
    }, timeoutMs);
    // Registered after the devkit's own listener: `logs` already holds the new lines when this runs.
    const listener = () => void setImmediate(check);
    const done = () => {
      clearTimeout(timer);
      for (const p of processes) p.child.stdout?.off("data", listener);
    };
    for (const p of processes) p.child.stdout?.on("data", listener);
    check();
  });
}

/** `queue command refused` log lines of one queue (`{org}/{queue}`). */
export const refusalOf = (org: string, queueId: string) => (line: Record<string, unknown>) =>
  line.msg === "queue command refused" && line.queue === `${org}/${queueId}`;
