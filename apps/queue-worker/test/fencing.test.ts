import { type RedisServer, startRedis, until } from "@hub/devkit";
import type { Queue } from "@hub/events";
import { type Emission, type QueueStore, redisQueueStore, startQueueWorker } from "@hub/inhouse";
import { hubKeys } from "@hub/store";
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
    expect(await redis.sismember(keys.queue(name).active, name)).toBe(0);
    expect(await redis.exists(keys.queue(name).lease)).toBe(0);
    expect(await redis.ttl(keys.queue(name).state)).toBeGreaterThan(6 * 86_400);
    // A new command brings it back and lifts the expiry.
    await store.commands.enqueue([
      { id: "c2", command: "open", org_id: "o1", queue_id: "retired", user_id: undefined, capacity: undefined },
    ]);
    expect(await redis.sismember(keys.queue(name).active, name)).toBe(1);
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

  it("renews in bulk only the leases whose token is the caller's, and reports the others lost", async () => {
    const [a, b, c] = ["o3/a", "o3/b", "o3/c"];
    const mine = await Promise.all([store.acquire(a, 500), store.acquire(b, 500), store.acquire(c, 500)]);
    const [la, lb, lc] = mine as Array<NonNullable<(typeof mine)[number]>>;
    if (!la || !lb || !lc) throw new Error("expected three leases");
    // b lapses and another worker takes it; c is released (retired); a is still ours.
    await redis.del(keys.queue(b).lease);
    const other = await store.acquire(b, 5_000);
    await store.release(lc);
    expect(await store.extend([la, lb, lc], 5_000)).toEqual([true, false, false]);
    expect(await redis.pttl(keys.queue(a).lease)).toBeGreaterThan(1_000);
    // The other worker's lease is left as it was: same token, not shortened.
    expect(await redis.get(keys.queue(b).lease)).toBe(other?.token);
    expect(await redis.pttl(keys.queue(b).lease)).toBeGreaterThan(4_000);
    expect(await redis.exists(keys.queue(c).lease)).toBe(0);
    // A stale owner can neither release nor write under the lease it lost.
    await store.release(lb);
    expect(await redis.get(keys.queue(b).lease)).toBe(other?.token);
    expect(await store.commit(lb, change(b, -1, 1))).toBe("lease_lost");
  });

  it("finds the queues with no live lease, and the held ones with work left, in bulk", async () => {
    const names = ["o4/held", "o4/free", "o4/lapsed"];
    const held = (await store.acquire("o4/held", 5_000)) as NonNullable<Awaited<ReturnType<QueueStore["acquire"]>>>;
    await store.acquire("o4/lapsed", 200);
    await until("the short lease to lapse", async () => (await redis.exists(keys.queue("o4/lapsed").lease)) === 0);
    expect(await store.unleased(names)).toEqual(["o4/free", "o4/lapsed"]);
    expect(await store.unleased([])).toEqual([]);

    const base = { org_id: "o4", user_id: undefined, capacity: undefined };
    await store.commands.enqueue([{ ...base, id: "p1", command: "open", queue_id: "held" }]);
    expect(await store.pendingWork(names)).toEqual([true, false, false]);
    const lease = (await store.acquire("o4/free", 5_000)) as NonNullable<Awaited<ReturnType<QueueStore["acquire"]>>>;
    const emission: Emission = { id: "e1", type: "inhouse.queue_updated", org_id: "o4", payload: {} };
    expect(await store.commit(lease, { ...change("o4/free", -1, 1), emissions: [emission] })).toBe("ok");
    expect(await store.pendingWork(names)).toEqual([true, true, false]);
    expect(await store.ackOutbox(lease, 1)).toBe(true);
    const [pending] = await store.pending("o4/held", "0-0", 1);
    expect(await store.commit(held, { ...change("o4/held", -1, 1), cursor: pending?.cursor ?? "" })).toBe("ok");
    expect(await store.pendingWork(names)).toEqual([false, false, false]);
  });

  it("lets only one of two workers hold a queue", async () => {
    const name = "o1/contended";
    const [a, b] = await Promise.all([store.acquire(name, 5_000), store.acquire(name, 5_000)]);
    expect([a, b].filter((lease) => lease !== null)).toHaveLength(1);
  });
});
