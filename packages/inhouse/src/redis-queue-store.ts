import { type HubKeys, redisCommandQueue, registerLua } from "@hub/emitter";
import type { Queue, QueueCommand } from "@hub/events";
import { type Lock, Redlock } from "@sesamecare-oss/redlock";
import type { Redis } from "ioredis";
import type { Lease, QueueStore } from "./queue-store.js";
import type { Emission } from "./transitions.js";

interface Commands {
  hubCommitQueue(...args: Array<string | number>): Promise<number>;
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

interface RedisLease extends Lease {
  lock: Lock;
}

export interface RedisQueueStoreOptions {
  /** Commands and data; the store does not close it. */
  redis: Redis;
  /** A connection for the wake-up subscription; the store closes it. */
  subscriber: Redis;
  keys: HubKeys;
}

/**
 * Inhouse queues in Redis: leases through redlock (single instance), fenced writes through
 * lua/commitQueue-5.lua, deadlines in one sorted set, wake-ups over pub/sub.
 */
export function redisQueueStore({ redis, subscriber, keys }: RedisQueueStoreOptions): QueueStore {
  registerLua(redis, new URL("./lua/", import.meta.url), [
    ["hubCommitQueue", "commitQueue-5"],
    ["hubAckOutbox", "ackOutbox-2"],
    ["hubRetireQueue", "retireQueue-5"],
    ["hubReadOutbox", "readOutbox-2"],
  ]);
  const client = redis as Redis & Commands;
  // No retries: a held lease means another worker owns the queue, which is an answer, not an error.
  // Redlock selects its own db inside its scripts: it must be the connection's, where our scripts look.
  const redlock = new Redlock([redis], { retryCount: 0, automaticExtensionThreshold: 0, db: redis.options.db ?? 0 });
  const listeners: Array<(name: string) => void> = [];
  subscriber.on("message", (_channel: string, name: string) => {
    for (const listener of listeners) listener(name);
  });

  return {
    commands: redisCommandQueue(redis, keys),
    activeQueues: () => redis.smembers(keys.activeQueues),
    dueDeadlines: (now, limit) => redis.zrangebyscore(keys.queueDeadlines, "-inf", now, "LIMIT", 0, limit),

    async acquire(name, ttlMs) {
      try {
        const lock = await redlock.acquire([keys.queue(name).lease], ttlMs);
        return { name, token: lock.value, lock } satisfies RedisLease;
      } catch {
        return null;
      }
    },
    async extend(lease, ttlMs) {
      try {
        const lock = await (lease as RedisLease).lock.extend(ttlMs);
        return { name: lease.name, token: lock.value, lock } satisfies RedisLease;
      } catch {
        return null;
      }
    },
    async release(lease) {
      await (lease as RedisLease).lock.release().catch(() => undefined);
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
        keys.queueDeadlines,
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
      return result === 1 ? "ok" : result === -1 ? "lease_lost" : "conflict";
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
      return (
        (await client.hubRetireQueue(
          k.lease,
          keys.activeQueues,
          k.commands,
          keys.queueDeadlines,
          k.state,
          lease.token,
          cursor,
          lease.name,
        )) === 1
      );
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
