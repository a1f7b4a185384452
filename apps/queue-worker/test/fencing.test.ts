import { type RedisServer, startRedis, until } from "@hub/devkit";
import { hubKeys } from "@hub/emitter";
import type { Queue } from "@hub/events";
import { type QueueStore, redisQueueStore, startQueueWorker } from "@hub/inhouse";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The fencing of lua/commitQueue-5.lua, driven directly against a real Redis: whatever the timing
 * of a pause, a write without the current lease, or on top of a version that moved on, is refused.
 */
describe("fenced queue commits (real Redis)", () => {
  let server: RedisServer;
  let redis: Redis;
  let store: QueueStore;
  const keys = hubKeys("fence");

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    store = redisQueueStore({ redis, subscriber: redis.duplicate(), keys });
  });
  afterAll(async () => {
    await store?.close();
    redis?.disconnect();
    await server?.stop();
  });

  const queue = (name: string, version: number): Queue => {
    const [org_id = "", id = ""] = name.split("/");
    return { id, org_id, status: "open", capacity: 10, players: [], check_in_deadline: null, version };
  };
  const change = (name: string, expectedVersion: number, version: number) => ({
    name,
    expectedVersion,
    queue: queue(name, version),
    cursor: "0-0",
    emissions: [],
  });

  it("refuses the write of an owner whose lease expired and was taken over", async () => {
    const name = "o1/expired";
    const first = await store.acquire(name, 500);
    expect(first).not.toBeNull();
    expect(await store.commit(first as NonNullable<typeof first>, change(name, -1, 1))).toBe("ok");
    // The lease lapses (the owner is paused); another worker takes the queue over.
    await until("the lease to lapse", async () => (await redis.exists(keys.queue(name).lease)) === 0);
    const second = await store.acquire(name, 5_000);
    expect(second).not.toBeNull();
    expect(await store.commit(second as NonNullable<typeof second>, change(name, 1, 2))).toBe("ok");
    // The first owner wakes up and writes what it computed before the pause.
    expect(await store.commit(first as NonNullable<typeof first>, change(name, 1, 2))).toBe("lease_lost");
    expect(await store.ackOutbox(first as NonNullable<typeof first>, 1)).toBe(false);
    expect((await store.load(name)).version).toBe(2);
  });

  it("refuses the write of an owner whose lease lapsed even when nobody took over yet", async () => {
    const name = "o1/lapsed";
    const lease = await store.acquire(name, 500);
    await until("the lease to lapse", async () => (await redis.exists(keys.queue(name).lease)) === 0);
    expect(await store.commit(lease as NonNullable<typeof lease>, change(name, -1, 1))).toBe("lease_lost");
    expect((await store.load(name)).queue).toBeNull();
  });

  it("refuses a write computed from a version that moved on", async () => {
    const name = "o1/stale";
    const lease = (await store.acquire(name, 5_000)) as NonNullable<Awaited<ReturnType<QueueStore["acquire"]>>>;
    expect(await store.commit(lease, change(name, -1, 1))).toBe("ok");
    expect(await store.commit(lease, change(name, 1, 2))).toBe("ok");
    expect(await store.commit(lease, change(name, 1, 2))).toBe("conflict");
    expect((await store.load(name)).version).toBe(2);
  });

  it("works on a Redis database other than 0 (leases and commits see the same keys)", async () => {
    const db3 = new Redis(`${server.url}/3`);
    const store3 = redisQueueStore({ redis: db3, subscriber: db3.duplicate(), keys });
    try {
      const name = "o1/db3";
      const lease = (await store3.acquire(name, 5_000)) as NonNullable<Awaited<ReturnType<QueueStore["acquire"]>>>;
      expect(lease).not.toBeNull();
      expect(await store3.commit(lease, change(name, -1, 1))).toBe("ok");
      expect(await db3.exists(keys.queue(name).lease)).toBe(1);
    } finally {
      await store3.close();
      db3.disconnect();
    }
  });

  it("retires a closed queue: out of the active set, lease released, state kept for 7 days", async () => {
    const name = "o1/retired";
    await store.commands.enqueue([
      { id: "c1", command: "open", org_id: "o1", queue_id: "retired", user_id: undefined, capacity: undefined },
    ]);
    const lease = (await store.acquire(name, 5_000)) as NonNullable<Awaited<ReturnType<QueueStore["acquire"]>>>;
    const [pending] = await store.pending(name, "0-0", 10);
    const closed = { ...queue(name, 1), status: "closed" as const };
    expect(await store.commit(lease, { name, expectedVersion: -1, queue: closed, cursor: pending?.cursor ?? "", emissions: [] })).toBe(
      "ok",
    );
    expect(await store.retire(lease, pending?.cursor ?? "")).toBe(true);
    expect(await redis.sismember(keys.activeQueues, name)).toBe(0);
    expect(await redis.exists(keys.queue(name).lease)).toBe(0);
    expect(await redis.ttl(keys.queue(name).state)).toBeGreaterThan(6 * 86_400);
    // A new command brings it back and lifts the expiry.
    await store.commands.enqueue([
      { id: "c2", command: "open", org_id: "o1", queue_id: "retired", user_id: undefined, capacity: undefined },
    ]);
    expect(await redis.sismember(keys.activeQueues, name)).toBe(1);
    expect(await redis.ttl(keys.queue(name).state)).toBe(-1);
  });

  it("a held queue whose wake-up was lost still applies its commands (the sweep runs it)", async () => {
    const worker = startQueueWorker({
      store,
      logger: pino({ level: "silent" }),
      checkInTimeoutMs: 60_000,
      leaseTtlMs: 2_000,
      publish: async () => {},
    });
    try {
      await store.commands.enqueue([
        { id: "w1", command: "open", org_id: "o2", queue_id: "lost", user_id: undefined, capacity: undefined },
      ]);
      await until("the worker to open the queue", async () => (await store.load("o2/lost")).version === 1);
      // A command lands without its wake-up message (as if the pub/sub message were lost).
      const command = { id: "w2", command: "join", org_id: "o2", queue_id: "lost", user_id: "u1", capacity: undefined };
      await redis.xadd(keys.queue("o2/lost").commands, "*", "command", JSON.stringify(command));
      await until("the sweep to apply it", async () => (await store.load("o2/lost")).version === 2, 5_000);
      expect((await store.load("o2/lost")).queue?.players).toEqual([{ user_id: "u1", checked_in: false }]);
    } finally {
      await worker.close();
    }
  });

  it("lets only one of two workers hold a queue", async () => {
    const name = "o1/contended";
    const [a, b] = await Promise.all([store.acquire(name, 5_000), store.acquire(name, 5_000)]);
    expect([a, b].filter((lease) => lease !== null)).toHaveLength(1);
  });
});
