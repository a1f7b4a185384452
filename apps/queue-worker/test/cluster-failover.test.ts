import { randomBytes } from "node:crypto";
import { type HubProcess, type RedisCluster, type RedisClusterNode, startRedisCluster, startWorker, until } from "@hub/devkit";
import type { Queue, QueueCommand } from "@hub/events";
import { hubKeys, redisCommandQueue, redisHistory } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * A Redis Cluster master failover under real queue-worker processes (REDIS_CLUSTER_NODES): the
 * master holding a queue's slot is killed while the queue's check-in deadline is pending and its
 * lease is held by worker A; worker B competes for every lease. The deadline fires exactly once and
 * no command is applied twice, whichever worker holds the queue after the failover (fencing).
 */

/** Shorter than any failover (the node timeout is 1 s): A's lease lapses while its master is away. */
const LEASE_TTL_MS = 1_000;
const keys = hubKeys();
/** The inhouse namespace's history window (its events are read back from the topic's history). */
const INHOUSE_HISTORY = { ttlMs: 5 * 60_000, size: 200 };

let cluster: RedisCluster;
let admin: Cluster;
/** The workers of the running test; afterEach stops them. */
const workers: HubProcess[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  // As the hub's processes connect: commands wait through the failover instead of failing.
  admin = new Cluster(cluster.startupNodes, {
    redisOptions: { maxRetriesPerRequest: null },
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshInterval: 1_000,
  });
});

afterEach(async () => {
  await Promise.allSettled(workers.splice(0).map((w) => w.stop()));
  // A queue left mid-way (a failed test) must not be taken up, and counted, by the next test's workers.
  await cluster.flush();
});

afterAll(async () => {
  admin?.disconnect();
  await cluster?.stop();
});

function startQueueWorker(id: string, checkInTimeoutMs: number): Promise<HubProcess> {
  return startWorker({
    REDIS_CLUSTER_NODES: cluster.seeds,
    HUB_NODE_ID: id,
    LOG_LEVEL: "debug",
    QUEUE_LEASE_TTL_MS: String(LEASE_TTL_MS),
    CHECK_IN_TIMEOUT_MS: String(checkInTimeoutMs),
  }).then((worker) => {
    workers.push(worker);
    return worker;
  });
}

/** One series of a worker's /metrics (`name{labels}`); 0 when absent. */
async function metricOf(worker: HubProcess, series: string): Promise<number> {
  const started = worker.logs.find((l) => l.msg === "queue-worker started");
  const text = await (await fetch(`http://127.0.0.1:${started?.metrics_port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Whether a worker's logs say it holds `name` now (acquired after its last release). */
function holds(worker: HubProcess, name: string): boolean {
  const last = (msg: string) => worker.logs.findLastIndex((l) => l.msg === msg && l.queue === name);
  return last("queue lease acquired") > last("queue released");
}

/** The replication section of a node's INFO. */
async function replication(node: RedisClusterNode): Promise<string> {
  const direct = new Redis(node.url);
  try {
    return await direct.info("replication");
  } finally {
    direct.disconnect();
  }
}

/** Waits until the replica of `master` has every write the master has. */
async function replicated(master: RedisClusterNode): Promise<void> {
  await until("the replica to catch up", async () => {
    const info = await replication(master);
    const offset = /master_repl_offset:(\d+)/.exec(info)?.[1];
    return offset !== undefined && offset === /slave0:.*offset=(\d+)/.exec(info)?.[1];
  });
}

/**
 * A queue of `org` whose master has a replica (an earlier test's failover left one master without)
 * and is not the master of the org's topic, so that its events stay readable through the failover.
 */
async function queueToFail(org: string): Promise<string> {
  const topicMaster = await cluster.masterOf(keys.history(`inhouse:${org}`).stream);
  for (let i = 0; ; i++) {
    const master = await cluster.masterOf(keys.queue(`${org}/q${i}`).state);
    if (master.id !== topicMaster.id && (await replication(master)).includes("connected_slaves:1")) return `q${i}`;
  }
}

/** Subscribers of the wake-up channel over every node still up (classic pub/sub: one node each). */
async function wakeSubscribers(): Promise<number> {
  const counts = await Promise.all(
    cluster.nodes.map(async (node) => {
      const direct = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      direct.on("error", () => {});
      try {
        await direct.connect();
        const [, count] = (await direct.pubsub("NUMSUB", keys.queueWake)) as [string, number];
        return count;
      } catch {
        return 0;
      } finally {
        direct.disconnect();
      }
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

function at(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
}

describe("inhouse queues across a Redis Cluster master failover (2 worker processes)", () => {
  it.each([
    { when: "after the failover", checkInTimeoutMs: 8_000, killBeforeDeadlineMs: 5_000 },
    // The owner's timer fires while the slot has no master, and its lease lapses before the slot is back.
    { when: "during the failover", checkInTimeoutMs: 4_000, killBeforeDeadlineMs: 1_200 },
  ])(
    "the master of a queue's slot dies with its deadline pending ($when) and its lease held: the deadline fires once, no command applies twice",
    async ({ checkInTimeoutMs, killBeforeDeadlineMs }) => {
      const org = `fo${randomBytes(3).toString("hex")}`;
      const topic = `inhouse:${org}`;
      const queueId = await queueToFail(org);
      const name = `${org}/${queueId}`;
      const commands = redisCommandQueue(admin, keys);
      const history = redisHistory(admin, keys);
      const send = (...list: Array<Pick<QueueCommand, "command"> & Partial<QueueCommand>>) =>
        commands.enqueue(
          list.map(
            (c) =>
              ({
                id: randomBytes(6).toString("hex"),
                org_id: org,
                queue_id: queueId,
                user_id: undefined,
                capacity: undefined,
                ...c,
              }) as QueueCommand,
          ),
        );
      const stored = async () => {
        const json = await admin.hget(keys.queue(name).state, "queue");
        return json === null ? null : (JSON.parse(json) as Queue);
      };
      const events = async () => (await history.read(topic, INHOUSE_HISTORY, { fromCursor: true })).entries;

      // Worker A alone takes the queue; B starts once A holds it, and competes from then on.
      const a = await startQueueWorker("wA", checkInTimeoutMs);
      await send({ command: "open", capacity: 4 });
      await until("worker A to hold the queue", () => holds(a, name));
      const b = await startQueueWorker("wB", checkInTimeoutMs);
      await send(
        ...["p1", "p2", "p3", "p4"].map((user_id) => ({ command: "join" as const, user_id })),
        ...["p1", "p2"].map((user_id) => ({ command: "check_in" as const, user_id })),
      );
      await until("the check-ins to apply", async () => (await stored())?.version === 7);
      const deadline = (await stored())?.check_in_deadline as number;
      expect(holds(a, name) && !holds(b, name)).toBe(true);

      // Kill the master of the queue's slot once its replica has the queue as it is (replication is
      // asynchronous: a write the replica never got is lost with the master, fencing or not).
      const master = await cluster.masterOf(keys.queue(name).state);
      await replicated(master);
      expect(Date.now(), "the setup must leave the deadline pending").toBeLessThan(deadline - killBeforeDeadlineMs);
      await at(deadline - killBeforeDeadlineMs);
      await master.kill();
      const killedAt = Date.now();
      // healthy() alone may answer before the other nodes have noticed the loss (node timeout).
      await until("the replica to take over", async () => (await cluster.masterOf(keys.queue(name).state)).id !== master.id, 20_000);
      await cluster.healthy();
      const failoverMs = Date.now() - killedAt;

      const expired = await until(
        "check_in_expired",
        async () => {
          const found = (await events()).filter((e) => e.clientEvent === "check_in_expired");
          return found.length > 0 ? found : undefined;
        },
        20_000,
      );
      expect(expired).toHaveLength(1);
      console.log(`TIMING failover ${failoverMs} ms; deadline ${deadline - killedAt} ms after the kill`);
      expect((expired[0]?.envelope.data as { removed: string[] } | undefined)?.removed.sort()).toEqual(["p3", "p4"]);

      // Both wake-up subscriptions survived (a subscriber on the dead node moves to a live one).
      await until("both workers' wake-up subscriptions", async () => (await wakeSubscribers()) === 2);
      // A command after the expiry applies on top of it, once; by then a second expiry would show too.
      await send({ command: "join", user_id: "p5" });
      await until("the join after the expiry", async () => (await stored())?.version === 9);
      expect(await stored()).toMatchObject({
        status: "open",
        version: 9,
        check_in_deadline: null,
        players: [
          { user_id: "p1", checked_in: true },
          { user_id: "p2", checked_in: true },
          { user_id: "p5", checked_in: false },
        ],
      });
      // The commit comes first, its queue_updated right after (the outbox): wait for that one too.
      const seen = await until("the join's queue_updated", async () => {
        const all = await events();
        return all.some((e) => e.clientEvent === "queue_updated" && (e.envelope.data as { queue: Queue }).queue.version === 9)
          ? all
          : undefined;
      });
      expect(seen.filter((e) => e.clientEvent === "check_in_expired")).toHaveLength(1);
      const versions = seen
        .filter((e) => e.clientEvent === "queue_updated")
        .map((e) => (e.envelope.data as { queue: Queue }).queue.version);
      expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

      // Counted where it happens: one expiry committed and 8 commands applied, over both workers.
      const sum = async (series: string) => (await metricOf(a, series)) + (await metricOf(b, series));
      expect(await sum('hub_queue_commands_total{kind="expire",outcome="applied"}')).toBe(1);
      let applied = 0;
      for (const kind of ["open", "join", "check_in"]) applied += await sum(`hub_queue_commands_total{kind="${kind}",outcome="applied"}`);
      expect(applied).toBe(8);
      // A lost its lease across the failover (the workers competed for it again); one owner at most,
      // and both workers' connections (commands and the wake-up subscriber) are back.
      await a.waitForLog((l) => l.msg === "queue released" && l.queue === name && l.reason === "lease lost");
      expect([a, b].filter((w) => holds(w, name)).length).toBeLessThanOrEqual(1);
      for (const w of [a, b]) {
        expect(await metricOf(w, 'hub_redis_connected{role="main"}')).toBe(1);
        expect(await metricOf(w, 'hub_redis_connected{role="wake"}')).toBe(1);
      }
    },
  );
});
