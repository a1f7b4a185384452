import { type RedisServer, startRedis, until } from "@hub/devkit";
import { hubKeys } from "@hub/emitter";
import type { Queue } from "@hub/events";
import { type QueueStore, redisQueueStore } from "@hub/inhouse";
import { Redis } from "ioredis";
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

  it("lets only one of two workers hold a queue", async () => {
    const name = "o1/contended";
    const [a, b] = await Promise.all([store.acquire(name, 5_000), store.acquire(name, 5_000)]);
    expect([a, b].filter((lease) => lease !== null)).toHaveLength(1);
  });
});
