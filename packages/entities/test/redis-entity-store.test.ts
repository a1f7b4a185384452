import { type RedisCluster, type RedisServer, startRedis, startRedisCluster, until } from "@hub/devkit";
import { entityBucket, hubKeys, type RedisClient } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type Call,
  type CallCommand,
  callMachine,
  createEntityRuntime,
  ENTITY_TOMBSTONE_MS,
  type EntityChange,
  type EntityEmission,
  type EntityStore,
  redisEntityStore,
  startEntitySweeper,
} from "../src/index.js";

/**
 * The Redis entity store and the runtime on it against real redis-server processes: a standalone
 * server, and a 6-process Redis Cluster (every script touches one slot, buckets spread over masters).
 * Two stores on two connections stand for two processes of the hub.
 */

const keys = hubKeys("ent");
const logger = pino({ level: "silent" });

interface Backend {
  connect(): RedisClient;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

async function standalone(): Promise<Backend> {
  const server: RedisServer = await startRedis();
  const clients: Redis[] = [];
  return {
    connect: () => {
      const client = new Redis(server.url);
      clients.push(client);
      return client;
    },
    flush: async () => void (await clients[0]?.flushall()),
    stop: async () => {
      await Promise.all(clients.map((c) => c.quit()));
      await server.stop();
    },
  };
}

async function cluster(): Promise<Backend> {
  const nodes: RedisCluster = await startRedisCluster();
  const clients: Cluster[] = [];
  return {
    connect: () => {
      const client = new Cluster(nodes.startupNodes);
      clients.push(client);
      return client;
    },
    flush: () => nodes.flush(),
    stop: async () => {
      await Promise.all(clients.map((c) => c.quit()));
      await nodes.stop();
    },
  };
}

const change = (over: Partial<EntityChange> = {}): EntityChange => ({
  kind: "thing",
  id: "t1",
  expectedVersion: -1,
  state: JSON.stringify({ n: 1 }),
  deadline: null,
  retainMs: null,
  emissions: [],
  ...over,
});

const emission = (n: number): EntityEmission => ({ id: `e${n}`, org_id: "o1", topic: "webrtc:bob", event: "call:incoming", data: { n } });

/** Ids whose entities fall in `bucket`. */
function idsInBucket(bucket: number, count: number, prefix: string): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (entityBucket(`${prefix}${i}`) === bucket) ids.push(`${prefix}${i}`);
  return ids;
}

function suite(name: string, start: () => Promise<Backend>): void {
  describe(name, () => {
    let backend: Backend;
    let redis: RedisClient;
    let other: RedisClient;
    let store: EntityStore;
    let otherStore: EntityStore;

    beforeAll(async () => {
      backend = await start();
      redis = backend.connect();
      other = backend.connect();
      store = redisEntityStore(redis, keys);
      otherStore = redisEntityStore(other, keys);
    });

    afterAll(async () => {
      await backend?.stop();
    });

    beforeEach(async () => {
      await backend.flush();
    });

    it("commits on top of the version read only", async () => {
      expect(await store.load("thing", "t1")).toEqual({ state: null, version: -1 });
      expect(await store.commit(change())).toBe(0);
      expect(await otherStore.commit(change({ state: JSON.stringify({ n: 2 }) }))).toBe("conflict");
      expect(await otherStore.commit(change({ expectedVersion: 0, state: JSON.stringify({ n: 3 }) }))).toBe(1);
      expect(await store.commit(change({ expectedVersion: 0 }))).toBe("conflict");
      expect(await store.load("thing", "t1")).toEqual({ state: { n: 3 }, version: 1 });
    });

    it("answers due deadlines earliest first, at most `limit` per bucket, from every bucket", async () => {
      const now = Date.now();
      const [a, b, c] = idsInBucket(3, 3, "a");
      const [d] = idsInBucket(11, 1, "d");
      const [late] = idsInBucket(3, 1, "late");
      const deadlines: Array<[string | undefined, number]> = [
        [a, now - 10],
        [b, now - 30],
        [c, now - 20],
        [d, now - 5],
        [late, now + 60_000],
      ];
      for (const [id, deadline] of deadlines) await store.commit(change({ id: id as string, deadline }));
      expect((await store.due("thing", now, 10)).sort()).toEqual([a, b, c, d].sort());
      const limited = await store.due("thing", now, 2);
      expect(limited.filter((id) => id !== d)).toEqual([b, c]);
      expect(limited).toContain(d);
      expect(await store.due("other", now, 10)).toEqual([]);
      // A commit without a deadline takes the entity out.
      await store.commit(change({ id: b as string, expectedVersion: 0, deadline: null }));
      expect(await store.due("thing", now, 1)).not.toContain(b);
    });

    it("acks the outbox by identity: events appended after the read stay; stalled() lists entities with undelivered events", async () => {
      const before = Date.now();
      await store.commit(change({ emissions: [emission(1), emission(2)] }));
      const read = await store.outbox("thing", "t1", 10);
      expect(read.map((json) => (JSON.parse(json) as EntityEmission).id)).toEqual(["e1", "e2"]);
      // Another process commits an event while this one delivers what it read.
      await otherStore.commit(change({ expectedVersion: 0, emissions: [emission(3)] }));
      expect(await store.stalled("thing", Date.now() + 1, 10)).toEqual(["t1"]);
      expect(await store.stalled("thing", before - 1, 10)).toEqual([]);
      await store.ackOutbox("thing", "t1", read);
      expect(await store.outbox("thing", "t1", 10)).toEqual([JSON.stringify(emission(3))]);
      expect(await store.stalled("thing", Date.now() + 1, 10)).toEqual(["t1"]);
      // A late ack of events already acked by someone else drops nothing.
      await otherStore.ackOutbox("thing", "t1", read);
      expect(await store.outbox("thing", "t1", 10)).toHaveLength(1);
      await otherStore.ackOutbox("thing", "t1", await otherStore.outbox("thing", "t1", 10));
      expect(await store.outbox("thing", "t1", 10)).toEqual([]);
      expect(await store.stalled("thing", Date.now() + 1, 10)).toEqual([]);
    });

    it("acks what it delivered when another process acked the first of them meanwhile", async () => {
      // Two gateways flush one entity at once: one acks e1 while the other delivered e1 and e2.
      await store.commit(change({ emissions: [emission(1), emission(2)] }));
      const read = await store.outbox("thing", "t1", 10);
      await otherStore.ackOutbox("thing", "t1", read.slice(0, 1));
      await store.ackOutbox("thing", "t1", read);
      expect(await store.outbox("thing", "t1", 10)).toEqual([]);
      expect(await store.stalled("thing", Date.now() + 1, 10)).toEqual([]);
    });

    it("keeps a state retainMs (PEXPIRE), and for good when retainMs is null", async () => {
      await store.commit(change({ retainMs: 300 }));
      const ttl = await redis.pttl(keys.entity("thing", "t1").state);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
      // Nothing announces a key expiring: poll for it.
      await until("the state to expire", async () => (await store.load("thing", "t1")).version === -1);
      await store.commit(change({ retainMs: 300 }));
      await store.commit(change({ expectedVersion: 0, retainMs: null }));
      expect(await redis.pttl(keys.entity("thing", "t1").state)).toBe(-1);
    });

    it("a delete clears the state and the deadline and leaves a tombstone holding the version", async () => {
      await store.commit(change({ deadline: Date.now() - 1 }));
      expect(await store.commit(change({ expectedVersion: 0, state: null }))).toBe(1);
      expect(await store.load("thing", "t1")).toEqual({ state: null, version: 1 });
      expect(await store.due("thing", Date.now(), 10)).toEqual([]);
      const ttl = await redis.pttl(keys.entity("thing", "t1").state);
      expect(ttl).toBeGreaterThan(ENTITY_TOMBSTONE_MS - 60_000);
      expect(ttl).toBeLessThanOrEqual(ENTITY_TOMBSTONE_MS);
      // A change decided on the deleted entity cannot commit onto one created again at its id.
      expect(await otherStore.commit(change({ expectedVersion: 1, state: JSON.stringify({ n: 9 }) }))).toBe(2);
      expect(await store.commit(change({ expectedVersion: 0, state: null }))).toBe("conflict");
      expect(await store.load("thing", "t1")).toEqual({ state: { n: 9 }, version: 2 });
      // Deleting what does not exist leaves no key behind.
      expect(await store.commit(change({ id: "never", state: null }))).toBe(-1);
      expect(await redis.exists(keys.entity("thing", "never").state)).toBe(0);
    });

    it("two runtimes on two connections racing over 50 due calls: each call:missed delivered exactly once", async () => {
      const RING = 60_000;
      const calls = callMachine({ ringTimeoutMs: RING });
      const deliveries = new Map<string, number>();
      const deliver = async (e: EntityEmission) => {
        if (e.event !== "call:missed") return;
        const key = `${e.data.call_id}>${e.topic}`;
        deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      };
      const creator = createEntityRuntime({ store, deliver, logger });
      const ids = Array.from({ length: 50 }, (_, i) => `race-${i}`);
      for (const id of ids) {
        await creator.apply(calls, id, {
          type: "initiate",
          call_id: id,
          by: "alice",
          org_id: "o1",
          to: "bob",
          media: "audio",
        } satisfies CallCommand);
      }
      // Both runtimes see the calls as due (their clocks are past the ring timeout).
      const later = () => Date.now() + RING;
      const one = createEntityRuntime({ store, deliver, logger, now: later });
      const two = createEntityRuntime({ store: otherStore, deliver, logger, now: later });
      expect((await store.due("call", later(), 100)).sort()).toEqual([...ids].sort());
      const fired = await Promise.all(ids.flatMap((id) => [one.expire(calls, id), two.expire(calls, id)]));
      expect(fired.filter(Boolean)).toHaveLength(50);
      expect(deliveries.size).toBe(100);
      expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
      for (const id of ids) expect((await store.load<Call>("call", id)).state?.status).toBe("missed");
      expect(await store.due("call", later(), 100)).toEqual([]);
      expect(await store.stalled("call", Date.now() + 1, 100)).toEqual([]);
    });

    it("sweepers fire ring deadlines within a bounded time, once each, while one of two is closed mid-way", async () => {
      const RING = 300;
      const SPREAD = 10;
      const calls = callMachine({ ringTimeoutMs: RING });
      const deadlines = new Map<string, number>();
      const deliveries = new Map<string, number[]>();
      let halfway: () => void = () => undefined;
      let all: () => void = () => undefined;
      const half = new Promise<void>((resolve) => {
        halfway = resolve;
      });
      const done = new Promise<void>((resolve) => {
        all = resolve;
      });
      const deliver = async (e: EntityEmission) => {
        if (e.event !== "call:missed" || e.topic !== "webrtc:bob") return;
        const id = String(e.data.call_id);
        deliveries.set(id, [...(deliveries.get(id) ?? []), Date.now()]);
        if (deliveries.size === 25) halfway();
        if (deliveries.size === 50) all();
      };
      let offset = 0;
      const creator = createEntityRuntime({ store, deliver, logger, now: () => Date.now() + offset });
      // Only the sweepers fire here: the creator's own deadline timers (on its shifted clock) are off.
      creator.close();
      const runtimes = [store, otherStore].map((s) => createEntityRuntime({ store: s, deliver, logger }));
      const sweepers = [store, otherStore].map((s, i) =>
        startEntitySweeper({
          runtime: runtimes[i] as ReturnType<typeof createEntityRuntime>,
          store: s,
          machines: [calls],
          logger,
          sweepMs: 20,
        }),
      );
      try {
        for (let i = 0; i < 50; i++) {
          // Deadlines spread over half a second, so one sweeper closes with calls still ringing.
          offset = i * SPREAD;
          const id = `sweep-${i}`;
          const { state } = await creator.apply<Call, CallCommand>(calls, id, {
            type: "initiate",
            call_id: id,
            by: "alice",
            org_id: "o1",
            to: "bob",
            media: "video",
          });
          deadlines.set(id, state?.ring_deadline as number);
        }
        await half;
        await sweepers[0]?.close();
        await done;
      } finally {
        await Promise.all(sweepers.map((s) => s.close()));
      }
      const lateness = [...deliveries].map(([id, at]) => {
        expect(at).toHaveLength(1);
        return (at[0] as number) - (deadlines.get(id) as number);
      });
      expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
      // sweepMs 20: a deadline fires well within a second, even with one sweeper gone.
      expect(Math.max(...lateness)).toBeLessThan(1_000);
      for (const id of deadlines.keys()) expect((await store.load<Call>("call", id)).state?.status).toBe("missed");
    });
  });
}

suite("redis entity store (standalone redis-server)", standalone);
suite("redis entity store (Redis Cluster)", cluster);
