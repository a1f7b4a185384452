import { type RedisCluster, startRedisCluster, until } from "@hub/devkit";
import type { Queue, QueueCommand } from "@hub/events";
import { type Emission, type Lease, type QueueStore, type QueueWorker, redisQueueStore, startQueueWorker } from "@hub/inhouse";
import { hubKeys, QUEUE_BUCKETS, queueBucket } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * The Redis queue store on a real 6-process Redis Cluster through an ioredis `Cluster` client, as
 * the queue-worker runs it with REDIS_CLUSTER_NODES: every script touches one slot (Redis refuses
 * anything else with CROSSSLOT), bulk calls and passes span every bucket, and two workers on their
 * own connections apply each queue's commands in order and fire each deadline once.
 */
describe("inhouse queues on Redis Cluster", () => {
  let cluster: RedisCluster;
  let redis: Cluster;
  let store: QueueStore;
  const keys = hubKeys("iqc");
  /** Stores and workers a test started; afterEach closes them. */
  const opened: Array<{ close(): Promise<unknown> }> = [];

  const connect = () => new Cluster(cluster.startupNodes);
  const storeOn = (client: Cluster) => {
    const s = redisQueueStore({ redis: client, subscriber: connect(), keys });
    opened.push(s, { close: () => client.quit() });
    return s;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = connect();
    store = redisQueueStore({ redis, subscriber: connect(), keys });
  });
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
    await cluster.flush();
  });
  afterAll(async () => {
    await store?.close();
    await redis?.quit();
    await cluster?.stop();
  });

  /** One queue name of `org` in each bucket. */
  const oneper = (org: string): string[] => {
    const names = new Map<number, string>();
    for (let i = 0; names.size < QUEUE_BUCKETS; i++) {
      const name = `${org}/q${i}`;
      if (!names.has(queueBucket(name))) names.set(queueBucket(name), name);
    }
    return [...names.values()];
  };
  const command = (name: string, id: string, rest: Partial<QueueCommand> & Pick<QueueCommand, "command">): QueueCommand => {
    const [org_id = "", queue_id = ""] = name.split("/");
    return { id, org_id, queue_id, user_id: undefined, capacity: undefined, ...rest } as QueueCommand;
  };
  const queue = (name: string, version: number, extra: Partial<Queue> = {}): Queue => {
    const [org_id = "", id = ""] = name.split("/");
    return { id, org_id, status: "open", capacity: 10, players: [], check_in_deadline: null, version, ...extra };
  };
  const held = (lease: Lease | null): Lease => {
    if (!lease) throw new Error("expected the lease");
    return lease;
  };

  it("keeps every key of a queue, and its bucket's active and deadline sets, in one slot", async () => {
    for (const name of oneper("slots")) {
      const k = keys.queue(name);
      const all = [k.state, k.commands, k.lease, k.outbox, k.active, k.deadlines, k.commandSeen("c1")];
      // Asked of one node directly: a keyless command through the Cluster client may land on a connection it is closing.
      const node = new Redis((cluster.nodes[0] as { url: string }).url);
      const slots = await Promise.all(all.map((key) => node.cluster("KEYSLOT", key))).finally(() => node.disconnect());
      expect(new Set(slots).size, name).toBe(1);
      expect(keys.queueBucket(k.bucket)).toEqual({ active: k.active, deadlines: k.deadlines });
    }
    // The 16 buckets are spread over the masters, not all on one.
    const masters = await Promise.all(oneper("slots").map((name) => cluster.masterOf(keys.queue(name).state)));
    expect(new Set(masters.map((m) => m.id)).size).toBe(3);
  });

  it("accepts commands once per queue and id, in order, and reads, commits, publishes and retires across every bucket", async () => {
    const names = oneper("o1");
    const accepted = await store.commands.enqueue(
      names.flatMap((name) => [
        command(name, "open", { command: "open", capacity: 2 }),
        command(name, "j1", { command: "join", user_id: "u1" }),
        command(name, "j2", { command: "join", user_id: "u2" }),
      ]),
    );
    expect(accepted.every(Boolean)).toBe(true);
    // The same ids again: without effect, in every bucket; the same id for another queue is its own.
    expect(await store.commands.enqueue(names.map((name) => command(name, "j1", { command: "join", user_id: "u1" })))).toEqual(
      names.map(() => false),
    );
    expect((await store.activeQueues()).sort()).toEqual([...names].sort());
    expect(await store.pendingWork(names)).toEqual(names.map(() => true));
    for (const name of names) {
      expect((await store.pending(name, "0-0", 10)).map((p) => p.command?.id)).toEqual(["open", "j1", "j2"]);
    }

    // One lease per queue, renewed in bulk (one call per bucket), then every queue applies its commands.
    const leases = await Promise.all(names.map(async (name) => held(await store.acquire(name, 5_000))));
    expect(await store.unleased(names)).toEqual([]);
    expect(await store.extend(leases, 5_000)).toEqual(names.map(() => true));
    const deadline = Date.now() - 1;
    const cursors: string[] = [];
    for (const [i, name] of names.entries()) {
      const lease = leases[i] as Lease;
      const [, , last] = await store.pending(name, "0-0", 10);
      cursors.push(last?.cursor ?? "");
      const next = queue(name, 3, {
        status: "check_in",
        capacity: 2,
        players: [
          { user_id: "u1", checked_in: false },
          { user_id: "u2", checked_in: false },
        ],
        check_in_deadline: deadline - i,
      });
      const emission: Emission = { id: `e-${name}`, type: "inhouse.queue_updated", org_id: "o1", payload: { queue: next } };
      expect(await store.commit(lease, { name, expectedVersion: -1, queue: next, cursor: last?.cursor ?? "", emissions: [emission] })).toBe(
        "ok",
      );
      expect(await store.outbox(lease)).toEqual([emission]);
    }
    // Outboxes unpublished: still work; the deadlines of every bucket are due, earliest first.
    expect(await store.pendingWork(names)).toEqual(names.map(() => true));
    expect(await store.dueDeadlines(Date.now(), 100)).toEqual([...names].reverse());
    expect(await store.dueDeadlines(Date.now(), 3)).toEqual([...names].reverse().slice(0, 3));
    expect(await store.dueDeadlines(deadline - 100, 100)).toEqual([]);
    for (const lease of leases) expect(await store.ackOutbox(lease, 1)).toBe(true);
    expect(await store.pendingWork(names)).toEqual(names.map(() => false));

    // Closing takes each queue out of its bucket's active and deadline sets, and frees its lease.
    for (const [i, name] of names.entries()) {
      const lease = leases[i] as Lease;
      const cursor = cursors[i] as string;
      expect(await store.pending(name, cursor, 10)).toEqual([]);
      const closed = queue(name, 4, { status: "closed", capacity: 2 });
      expect(await store.commit(lease, { name, expectedVersion: 3, queue: closed, cursor, emissions: [] })).toBe("ok");
      expect(await store.retire(lease, cursor)).toBe(true);
    }
    expect(await store.activeQueues()).toEqual([]);
    expect(await store.dueDeadlines(Date.now(), 100)).toEqual([]);
    expect(await store.unleased(names)).toEqual(names);
    expect(await store.extend(leases, 5_000)).toEqual(names.map(() => false));
  });

  it("refuses a user's command for a queue that does not exist or is closed, leaving nothing in its slot", async () => {
    const name = "o2/ghost";
    expect(await store.commands.enqueueForUser(command(name, "g1", { command: "join", user_id: "u1" }))).toBe("no_queue");
    expect(await redis.exists(keys.queue(name).commands, keys.queue(name).commandSeen("g1"))).toBe(0);
    expect(await redis.sismember(keys.queue(name).active, name)).toBe(0);
    await store.commands.enqueue([command(name, "o", { command: "open" })]);
    const lease = held(await store.acquire(name, 5_000));
    const [opened] = await store.pending(name, "0-0", 1);
    expect(
      await store.commit(lease, { name, expectedVersion: -1, queue: queue(name, 1), cursor: opened?.cursor ?? "", emissions: [] }),
    ).toBe("ok");
    expect(await store.commands.enqueueForUser(command(name, "g2", { command: "join", user_id: "u1" }))).toBe("accepted");
    expect(await store.commands.enqueueForUser(command(name, "g2", { command: "join", user_id: "u1" }))).toBe("duplicate");
  });

  it("fences a lapsed owner: another worker on its own connection takes the lease over, the old token writes nothing", async () => {
    const name = "o3/contended";
    const other = storeOn(connect());
    const first = held(await store.acquire(name, 300));
    expect(await other.acquire(name, 5_000)).toBeNull();
    expect(await store.commit(first, { name, expectedVersion: -1, queue: queue(name, 1), cursor: "0-0", emissions: [] })).toBe("ok");
    await until("the lease to lapse", async () => (await redis.exists(keys.queue(name).lease)) === 0);
    const second = held(await other.acquire(name, 5_000));
    expect(await other.commit(second, { name, expectedVersion: 1, queue: queue(name, 2), cursor: "0-0", emissions: [] })).toBe("ok");
    expect(await store.commit(first, { name, expectedVersion: 1, queue: queue(name, 2), cursor: "0-0", emissions: [] })).toBe("lease_lost");
    expect(await store.outbox(first)).toBeNull();
    expect(await store.extend([first, second], 5_000)).toEqual([false, true]);
    await store.release(first);
    expect(await redis.get(keys.queue(name).lease)).toBe(second.token);
    expect((await store.load(name)).version).toBe(2);
  });

  it("wakes the owner over the Cluster subscriber when commands arrive", async () => {
    const woken: string[] = [];
    const listener = storeOn(connect());
    listener.onWake((name) => woken.push(name));
    // The subscription is in place once a wake-up sent after it arrives.
    await until("the wake-up subscription", async () => {
      await store.commands.enqueue([command("o4/probe", `p-${Date.now()}-${Math.random()}`, { command: "open" })]);
      return woken.includes("o4/probe");
    });
    await store.commands.enqueue([command("o4/woken", "w1", { command: "open" })]);
    await until("the wake-up of o4/woken", () => woken.includes("o4/woken"));
  });

  it("two workers on their own connections: each queue's commands applied once and in order, each deadline fires once", async () => {
    const published: Array<Emission & { worker: number }> = [];
    const workers: QueueWorker[] = [1, 2].map((worker) => {
      const w = startQueueWorker({
        store: storeOn(connect()),
        logger: pino({ level: "silent" }),
        checkInTimeoutMs: 800,
        leaseTtlMs: 2_000,
        sweepMs: 100,
        publish: async (event) => {
          published.push({ ...event, worker });
        },
      });
      opened.push(w);
      return w;
    });
    const names = oneper("o5");
    await store.commands.enqueue(
      names.flatMap((name) => [
        command(name, "open", { command: "open", capacity: 4 }),
        ...["a", "b", "c", "d"].map((user_id) => command(name, `join-${user_id}`, { command: "join", user_id })),
        ...["a", "b"].map((user_id) => command(name, `in-${user_id}`, { command: "check_in", user_id })),
      ]),
    );
    const events = (name: string, type: Emission["type"]) =>
      published.filter((e) => e.type === type && (e.payload.queue as Queue).id === name.split("/")[1]);
    await until("every deadline to fire", () => names.every((name) => events(name, "inhouse.check_in_expired").length > 0), 10_000);
    // A command after the expiry applies on top of it; by then a second expiry would have fired too.
    await store.commands.enqueue(names.map((name) => command(name, "join-e", { command: "join", user_id: "e" })));
    await until("the joins after the expiry", () => names.every((name) => events(name, "inhouse.queue_updated").length === 9));
    for (const name of names) {
      const expired = events(name, "inhouse.check_in_expired");
      expect(expired, name).toHaveLength(1);
      expect(expired[0]?.payload.removed).toEqual(["c", "d"]);
      expect(events(name, "inhouse.queue_updated").map((e) => (e.payload.queue as Queue).version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await store.load(name)).queue).toMatchObject({
        status: "open",
        version: 9,
        check_in_deadline: null,
        players: [
          { user_id: "a", checked_in: true },
          { user_id: "b", checked_in: true },
          { user_id: "e", checked_in: false },
        ],
      });
    }
    // Every queue is held by exactly one of the two workers.
    const owned = workers.flatMap((w) => w.owned());
    expect(owned.sort()).toEqual([...names].sort());
    expect(await store.dueDeadlines(Date.now(), 100)).toEqual([]);
  });
});
