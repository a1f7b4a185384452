import { randomBytes } from "node:crypto";
import type { Queue, QueueCommand } from "@hub/events";
import type { RedisClient } from "@hub/store";
import { type HubKeys, luaCommands, QUEUE_BUCKETS, redisCommandQueue } from "@hub/store";
import { perBucket } from "./per-bucket.js";
import type { QueueStore } from "./queue-store.js";
import type { Emission } from "./transitions.js";

/** What commitQueue-5.lua answers. */
const COMMIT_OUTCOME = { applied: 1, leaseLost: -1, versionMoved: -2 } as const;

interface Commands {
  hubReleaseLease(lease: string, token: string): Promise<number>;
  hubExtendLeases(keyCount: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
  hubPendingWork(keyCount: number, ...keys: string[]): Promise<number[]>;
  hubCommitQueue(...args: Array<string | number>): Promise<(typeof COMMIT_OUTCOME)[keyof typeof COMMIT_OUTCOME]>;
  hubAckOutbox(lease: string, outbox: string, token: string, count: number): Promise<number>;
  hubReadOutbox(lease: string, outbox: string, token: string, count: number): Promise<string[] | null>;
  hubRetireQueue(
    lease: string,
    active: string,
    commands: string,
    deadlines: string,
    state: string,
    token: string,
    cursor: string,
    name: string,
  ): Promise<number>;
}

const withQueueCommands = luaCommands<Commands>(new URL("./lua/", import.meta.url), {
  hubCommitQueue: "commitQueue-5",
  hubAckOutbox: "ackOutbox-2",
  hubRetireQueue: "retireQueue-5",
  hubReadOutbox: "readOutbox-2",
  hubReleaseLease: "releaseLease-1",
  hubExtendLeases: "extendLeases-n",
  hubPendingWork: "pendingWork-n",
});

/** Every queue bucket, 0 to QUEUE_BUCKETS - 1. */
const BUCKETS = Array.from({ length: QUEUE_BUCKETS }, (_, bucket) => bucket);

export interface RedisQueueStoreOptions {
  /** Commands and data; the store does not close it. */
  redis: RedisClient;
  /** A connection for the wake-up subscription; the store closes it. */
  subscriber: RedisClient;
  keys: HubKeys;
}

/**
 * Inhouse queues in Redis: leases as redlock's single-instance lock (a random token set with NX and
 * a TTL; a lost race is a null answer, not an error) renewed in bulk, fenced writes through lua/commitQueue-5.lua,
 * deadlines in a sorted set per queue bucket, wake-ups over pub/sub. A queue's keys and its bucket's
 * active and deadline sets share one slot (`keys.queue`), so every script touches one slot and runs
 * on Redis Cluster; bulk calls and the passes over active queues and deadlines go bucket by bucket.
 */
export function redisQueueStore({ redis, subscriber, keys }: RedisQueueStoreOptions): QueueStore {
  const client = withQueueCommands(redis);
  const listeners: Array<(name: string) => void> = [];
  subscriber.on("message", (_channel: string, name: string) => {
    for (const listener of listeners) listener(name);
  });

  return {
    commands: redisCommandQueue(redis, keys),
    async activeQueues() {
      const buckets = await Promise.all(BUCKETS.map((bucket) => redis.smembers(keys.queueBucket(bucket).active)));
      return buckets.flat();
    },
    async dueDeadlines(now, limit) {
      // The first `limit` of each bucket, then the earliest `limit` of them all.
      const buckets = await Promise.all(
        BUCKETS.map((bucket) => redis.zrangebyscore(keys.queueBucket(bucket).deadlines, "-inf", now, "WITHSCORES", "LIMIT", 0, limit)),
      );
      const due: Array<{ name: string; at: number }> = [];
      for (const flat of buckets) for (let i = 0; i < flat.length; i += 2) due.push({ name: flat[i] as string, at: Number(flat[i + 1]) });
      return due
        .sort((a, b) => a.at - b.at)
        .slice(0, limit)
        .map(({ name }) => name);
    },

    async unleased(names) {
      const tokens = await perBucket(
        names,
        (name) => name,
        (part) => redis.mget(part.map((name) => keys.queue(name).lease)),
      );
      return names.filter((_, i) => tokens[i] === null);
    },
    async acquire(name, ttlMs) {
      const token = randomBytes(16).toString("hex");
      return (await redis.set(keys.queue(name).lease, token, "PX", ttlMs, "NX")) === "OK" ? { name, token } : null;
    },
    async extend(leases, ttlMs) {
      const held = await perBucket(
        leases,
        (lease) => lease.name,
        (part) =>
          client.hubExtendLeases(
            part.length,
            ...part.map((lease) => keys.queue(lease.name).lease),
            ttlMs,
            ...part.map((lease) => lease.token),
          ),
      );
      return held.map((renewed) => renewed === 1);
    },
    async release(lease) {
      await client.hubReleaseLease(keys.queue(lease.name).lease, lease.token).catch(() => undefined);
    },
    async pendingWork(names) {
      const work = await perBucket(
        names,
        (name) => name,
        (part) =>
          client.hubPendingWork(
            part.length * 3,
            ...part.flatMap((name) => {
              const k = keys.queue(name);
              return [k.state, k.commands, k.outbox];
            }),
          ),
      );
      return work.map((pending) => pending === 1);
    },

    async load(name) {
      const [queue, version, cursor] = await redis.hmget(keys.queue(name).state, "queue", "version", "cursor");
      return {
        queue: queue ? (JSON.parse(queue) as Queue) : null,
        version: version === null ? -1 : Number(version),
        cursor: cursor ?? "0-0",
      };
    },
    async pending(name, cursor, count) {
      const rows = await redis.xrange(keys.queue(name).commands, `(${cursor}`, "+", "COUNT", count);
      return rows.map(([id, fields]) => ({ cursor: id, command: readCommand(fields), acceptedAt: Number(id.split("-")[0]) }));
    },
    async commit(lease, change) {
      const k = keys.queue(change.name);
      const result = await client.hubCommitQueue(
        k.state,
        k.lease,
        k.deadlines,
        k.outbox,
        k.commands,
        lease.token,
        change.expectedVersion,
        change.queue ? JSON.stringify(change.queue) : "",
        change.queue?.version ?? change.expectedVersion,
        change.cursor,
        change.queue?.check_in_deadline ?? "",
        change.name,
        ...change.emissions.map((e) => JSON.stringify(e)),
      );
      return result === COMMIT_OUTCOME.applied ? "ok" : result === COMMIT_OUTCOME.leaseLost ? "lease_lost" : "conflict";
    },
    async outbox(lease) {
      const k = keys.queue(lease.name);
      const events = await client.hubReadOutbox(k.lease, k.outbox, lease.token, 100);
      return events === null ? null : events.map((json) => JSON.parse(json) as Emission);
    },
    async ackOutbox(lease, count) {
      const k = keys.queue(lease.name);
      return (await client.hubAckOutbox(k.lease, k.outbox, lease.token, count)) === 1;
    },
    async retire(lease, cursor) {
      const k = keys.queue(lease.name);
      return (await client.hubRetireQueue(k.lease, k.active, k.commands, k.deadlines, k.state, lease.token, cursor, lease.name)) === 1;
    },

    onWake(listener) {
      if (listeners.length === 0) subscriber.subscribe(keys.queueWake).catch(() => undefined);
      listeners.push(listener);
    },
    async close() {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

function readCommand(fields: string[]): QueueCommand | null {
  const json = fields[fields.indexOf("command") + 1];
  try {
    return json === undefined ? null : (JSON.parse(json) as QueueCommand);
  } catch {
    return null;
  }
}
