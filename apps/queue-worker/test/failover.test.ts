import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  type HubClient,
  type HubProcess,
  type RedisServer,
  request,
  serviceToken,
  startGateway,
  startRedis,
  startWorker,
  until,
  userToken,
} from "@hub/devkit";
import type { Envelope, Queue } from "@hub/events";
import { hubKeys } from "@hub/store";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

/**
 * Failover of inhouse queues between real queue-worker processes on a real redis-server: a worker
 * killed at a check-in deadline, a worker paused past its lease, every worker restarted.
 */

const LEASE_TTL_MS = 2_000;

interface Seen<D> {
  /** The observer's clock when the event arrived. */
  at: number;
  msg: Envelope<D>;
}
type Updated = Seen<{ queue: Queue }>;
type Expired = Seen<{ queue: Queue; removed: string[] }>;
type Command = { command: string; org_id: string; queue_id: string; user_id?: string; capacity?: number; id?: string };

let redisServer: RedisServer;
let gateway: GatewayProcess;
let redis: Redis;
let token: string;
/** Every worker a test started; afterEach resumes and kills the ones still alive. */
let workers: HubProcess[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  gateway = await startGateway({ REDIS_URL: redisServer.url, HUB_NODE_ID: "gw-failover" });
  redis = new Redis(redisServer.url);
  token = await serviceToken();
});

beforeEach(async () => {
  // Queues of earlier tests must not be picked up by this test's workers.
  const keys = await redis.keys("hub:iq*");
  if (keys.length > 0) await redis.del(...keys);
});

afterEach(async () => {
  closeAllClients();
  await Promise.all(workers.map(reap));
  workers = [];
});

afterAll(async () => {
  closeAllClients();
  await Promise.all(workers.map(reap));
  redis?.disconnect();
  await gateway?.stop();
  await redisServer?.stop();
});

/** A worker may be stopped (SIGSTOP): resume it first so that nothing stopped outlives the test. */
async function reap(worker: HubProcess): Promise<void> {
  const { child } = worker;
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.pid !== undefined) {
    try {
      process.kill(child.pid, "SIGCONT");
    } catch {
      // already gone
    }
  }
  await worker.kill();
}

async function startWorkers(count: number, env: Record<string, string>): Promise<HubProcess[]> {
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startWorker({
        REDIS_URL: redisServer.url,
        LOG_LEVEL: "debug",
        QUEUE_LEASE_TTL_MS: String(LEASE_TTL_MS),
        HUB_NODE_ID: `w${workers.length + i + 1}`,
        ...env,
      }),
    ),
  );
  workers.push(...started);
  return started;
}

/** POSTs commands to the gateway with a service token; they must be accepted (202). */
async function send(commands: Command[]): Promise<string[]> {
  const res = await fetch(`${gateway.url}/api/v1/inhouse/commands`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ commands }),
  });
  const body = (await res.json()) as { ids: string[] };
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body.ids;
}

/** A client of `org` subscribed to `inhouse:{org}`, recording every queue event with its arrival time. */
async function observe(org: string) {
  const client: HubClient = await connectClient(gateway.url, await userToken({ sub: `observer-${org}`, org_id: org }));
  const updates: Updated[] = [];
  const expired: Expired[] = [];
  const on = client as unknown as { on(event: string, fn: (msg: Envelope<never>) => void): void };
  on.on("queue_updated", (msg) => updates.push({ at: Date.now(), msg }));
  on.on("check_in_expired", (msg) => expired.push({ at: Date.now(), msg }));
  expect(await request(client, "subscribe", { topic: `inhouse:${org}` })).toMatchObject({ ok: true });
  return {
    updates,
    expired,
    of: (queue: string) => updates.filter((u) => u.msg.data.queue.id === queue),
    expiredOf: (queue: string) => expired.filter((e) => e.msg.data.queue.id === queue),
    /** The `queue_updated` of `queue` at `version`, once it arrived. */
    version: (queue: string, version: number, timeoutMs = 10_000) =>
      until(
        `queue_updated ${org}/${queue} v${version}`,
        () => updates.find((u) => u.msg.data.queue.id === queue && u.msg.data.queue.version === version),
        timeoutMs,
      ),
  };
}

/** Index of the last log line of `worker` matching. */
function lastIndex(worker: HubProcess, match: (line: Record<string, unknown>) => boolean): number {
  for (let i = worker.logs.length - 1; i >= 0; i--) if (match(worker.logs[i] as Record<string, unknown>)) return i;
  return -1;
}

/** The worker whose logs say it holds `name` now (acquired after its last release), if any. */
function ownerOf(candidates: HubProcess[], name: string): HubProcess | undefined {
  const owners = candidates.filter(
    (w) =>
      lastIndex(w, (l) => l.msg === "queue lease acquired" && l.queue === name) >
      lastIndex(w, (l) => l.msg === "queue released" && l.queue === name),
  );
  expect(owners.length, `owners of ${name}`).toBeLessThanOrEqual(1);
  return owners[0];
}

function acquiredBy(worker: HubProcess, name: string): boolean {
  return lastIndex(worker, (l) => l.msg === "queue lease acquired" && l.queue === name) >= 0;
}

/** Versions and ids a subscriber saw for one queue: strictly increasing by one, none repeated. */
function expectCleanHistory(updates: Updated[], from: number, to: number): void {
  expect(updates.map((u) => u.msg.data.queue.version)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  const ids = updates.map((u) => u.msg.id);
  expect(new Set(ids).size).toBe(ids.length);
}

/** Runs `task` while every other worker is stopped (SIGSTOP), well within the lease TTL; resumes them after. */
async function alone(worker: HubProcess, all: HubProcess[], task: () => Promise<void>): Promise<void> {
  const others = all.filter((w) => w !== worker).map((w) => w.child.pid as number);
  for (const pid of others) process.kill(pid, "SIGSTOP");
  try {
    await task();
  } finally {
    for (const pid of others) process.kill(pid, "SIGCONT");
  }
}

function at(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
}

describe("queue-worker failover (3 workers, real redis)", () => {
  it("a worker killed at a check-in deadline: check_in_expired fires once, correct, within lease TTL + 1 s; the others take over", async () => {
    const org = "fo";
    const queues = Array.from({ length: 12 }, (_, i) => `q${i}`);
    const all = await startWorkers(3, { CHECK_IN_TIMEOUT_MS: "3000" });
    const observer = await observe(org);

    // Spread the queues: each batch is opened while only one worker runs (the first subscriber to
    // the wake-up channel would otherwise win nearly every race).
    for (const [i, worker] of all.entries()) {
      const batch = queues.slice(i * 4, i * 4 + 4);
      await alone(worker, all, async () => {
        await send(batch.map((queue_id) => ({ command: "open", org_id: org, queue_id, capacity: 4 })));
        await Promise.all(batch.map((q) => observer.version(q, 1)));
      });
    }
    const owner = new Map(
      await Promise.all(queues.map(async (q) => [q, await until(`owner of ${q}`, () => ownerOf(all, `${org}/${q}`))] as const)),
    );
    const held = (w: HubProcess) => queues.filter((q) => owner.get(q) === w);
    expect(all.map((w) => held(w).length)).toEqual([4, 4, 4]);

    const victim = all[1] as HubProcess;
    const survivors = all.filter((w) => w !== victim);
    const victimQueues = held(victim);
    const target = victimQueues[0] as string;

    await send([
      ...["p1", "p2", "p3", "p4"].map((user_id) => ({ command: "join", org_id: org, queue_id: target, user_id })),
      ...["p1", "p2"].map((user_id) => ({ command: "check_in", org_id: org, queue_id: target, user_id })),
    ]);
    const full = await observer.version(target, 5);
    expect(full.msg.data.queue.status).toBe("check_in");
    const deadline = full.msg.data.queue.check_in_deadline as number;
    await observer.version(target, 7);
    expect(ownerOf(all, `${org}/${target}`)).toBe(victim);
    expect(Date.now(), "the setup must leave time before the deadline").toBeLessThan(deadline - 100);

    // kill -9 just before the deadline: the owner's own timer (deadline + 5 ms) never runs.
    await at(deadline - 30);
    // When SIGKILL is sent (the process is gone from then on); reaping it can take longer under load.
    const killedAt = Date.now();
    await victim.kill();
    expect(killedAt).toBeLessThan(deadline + 5);

    // The survivors' queues keep working meanwhile: not held up until the dead worker's leases expire.
    const others = queues.filter((q) => q !== target);
    const sentAt = Date.now();
    await send(others.map((queue_id) => ({ command: "join", org_id: org, queue_id, user_id: "x" })));
    for (const q of others.filter((q) => !victimQueues.includes(q))) {
      const applied = await observer.version(q, 2);
      expect(applied.at - sentAt, `${q} waited for the dead worker`).toBeLessThan(LEASE_TTL_MS);
    }

    const expiry = await until("check_in_expired", () => observer.expiredOf(target)[0], 10_000);
    expect(expiry.at, `check_in_expired arrived ${expiry.at - deadline} ms after the deadline`).toBeLessThanOrEqual(
      deadline + LEASE_TTL_MS + 1_000,
    );
    console.log(
      `TIMING victim held ${victimQueues.length}/12, killed ${killedAt - deadline} ms after deadline, expiry +${expiry.at - deadline} ms`,
    );
    expect([...expiry.msg.data.removed].sort()).toEqual(["p3", "p4"]);
    expect(expiry.msg.data.queue).toMatchObject({
      id: target,
      status: "open",
      check_in_deadline: null,
      version: 8,
      players: [
        { user_id: "p1", checked_in: true },
        { user_id: "p2", checked_in: true },
      ],
    });
    expect((await observer.version(target, 8)).msg.data.queue.status).toBe("open");

    // A later command is applied on top of the expiry; by then a second expiry would have arrived too.
    await send([{ command: "join", org_id: org, queue_id: target, user_id: "p5" }]);
    const after = await observer.version(target, 9);
    expect(after.msg.data.queue.players.map((p) => p.user_id)).toEqual(["p1", "p2", "p5"]);
    expect(observer.expiredOf(target)).toHaveLength(1);
    expectCleanHistory(observer.of(target), 1, 9);
    expect(await redis.zscore(hubKeys().queue(`${org}/${target}`).deadlines, `${org}/${target}`)).toBeNull();

    // Every queue of the dead worker was taken over by a survivor and applied its command.
    for (const q of victimQueues) {
      if (q !== target) expect((await observer.version(q, 2)).msg.data.queue.players).toEqual([{ user_id: "x", checked_in: false }]);
      expect(
        survivors.some((w) => acquiredBy(w, `${org}/${q}`)),
        `${q} taken over`,
      ).toBe(true);
    }
    for (const q of others) expectCleanHistory(observer.of(q), 1, 2);
  }, 60_000);

  // docs/protocol.md "Inhouse queues": once the deadline passed, players who did not check in are removed. When the owner
  // dies at the deadline, the expiry runs up to a lease TTL late; a check-in accepted in that window
  // must not count: the worker fires a deadline that lapsed before a command was accepted first.
  it("a check-in accepted after the deadline, while the dead owner's lease runs out, does not rescue the player", async () => {
    const org = "lt";
    const queue = "l";
    const all = await startWorkers(2, { CHECK_IN_TIMEOUT_MS: "3000" });
    const observer = await observe(org);

    await send([
      { command: "open", org_id: org, queue_id: queue, capacity: 2 },
      { command: "join", org_id: org, queue_id: queue, user_id: "a" },
      { command: "join", org_id: org, queue_id: queue, user_id: "b" },
      { command: "check_in", org_id: org, queue_id: queue, user_id: "a" },
    ]);
    const full = await observer.version(queue, 3);
    const deadline = full.msg.data.queue.check_in_deadline as number;
    await observer.version(queue, 4);
    const owner = await until("an owner", () => ownerOf(all, `${org}/${queue}`));

    await at(deadline - 30);
    await owner.kill();
    // "b" checks in too late: the command is accepted after the deadline (its stream id is its acceptance time).
    await until("the deadline to pass", () => Date.now() > deadline + 200);
    await send([{ command: "check_in", org_id: org, queue_id: queue, user_id: "b" }]);
    const [[streamId]] = (await redis.xrevrange(hubKeys().queue(`${org}/${queue}`).commands, "+", "-", "COUNT", 1)) as [[string, string[]]];
    expect(Number(streamId.split("-")[0])).toBeGreaterThan(deadline);

    // Whatever comes next for the queue: an expiry, or the late check-in applied.
    await until(
      "the next change of the queue",
      () => observer.expiredOf(queue)[0] ?? observer.of(queue).find((u) => u.msg.data.queue.version === 5),
    );
    const v5 = await observer.version(queue, 5);
    expect(v5.msg.data.queue, "the late check-in counted: b was not removed at the deadline").toMatchObject({
      status: "open",
      players: [{ user_id: "a", checked_in: true }],
    });
    // check_in_expired is published right after the v5 queue_updated; wait for it, then make sure a
    // later change finds no second one.
    await until("check_in_expired", () => observer.expiredOf(queue)[0]);
    await send([{ command: "join", org_id: org, queue_id: queue, user_id: "c" }]);
    await observer.version(queue, 6);
    expect(observer.expiredOf(queue).map((e) => e.msg.data.removed)).toEqual([["b"]]);
  }, 30_000);

  it("a paused owner that wakes after losing its lease cannot write: no duplicate event, versions strictly increasing", async () => {
    const org = "pa";
    const queue = "p";
    const name = `${org}/${queue}`;
    const leaseKey = hubKeys().queue(name).lease;
    const all = await startWorkers(3, { CHECK_IN_TIMEOUT_MS: "60000" });
    const observer = await observe(org);
    const join = (user_id: string): Command => ({ command: "join", org_id: org, queue_id: queue, user_id });
    const leave = (user_id: string): Command => ({ command: "leave", org_id: org, queue_id: queue, user_id });

    await send([{ command: "open", org_id: org, queue_id: queue, capacity: 50 }]);
    await observer.version(queue, 1);
    const paused = await until("an owner", () => ownerOf(all, name));
    const others = all.filter((w) => w !== paused);
    const pausedLease = await redis.get(leaseKey);
    expect(pausedLease).not.toBeNull();

    // A long batch (290 changes, at most 11 players at a time), so that the owner is stopped in the
    // middle of it, holding a decision computed from a version that will be stale when it wakes.
    const batch: Command[] = [];
    for (let i = 1; i <= 150; i++) batch.push(join(`u${i}`), ...(i > 10 ? [leave(`u${i - 10}`)] : []));
    await send(batch);
    await observer.version(queue, 20);
    const pid = paused.child.pid as number;
    process.kill(pid, "SIGSTOP");
    let resumed = false;
    try {
      const versionAtPause = Number(await redis.hget(hubKeys().queue(name).state, "version"));
      expect(versionAtPause, "stopped in the middle of the batch").toBeLessThan(291);

      // The lease expires and another worker takes the queue over and finishes the batch.
      await until("a new lease holder", async () => {
        const value = await redis.get(leaseKey);
        return value !== null && value !== pausedLease;
      });
      const successor = await until("the new owner's log", () => ownerOf(others, name));
      expect(successor).not.toBe(paused);
      await observer.version(queue, 291);

      // The queue changes under the new owner while the old one is still stopped.
      await send([join("n1"), join("n2")]);
      await observer.version(queue, 293);

      // Wake the old owner with commands racing in: it still believes it holds the queue.
      process.kill(pid, "SIGCONT");
      resumed = true;
      await send([join("n3"), leave("n1")]);
      await until("the old owner to find its lease lost", () =>
        paused.logs.find((l) => l.msg === "queue released" && l.queue === name && l.reason === "lease lost"),
      );
      await observer.version(queue, 295);
    } finally {
      if (!resumed) process.kill(pid, "SIGCONT");
    }

    // One more change after the old owner woke: nothing it did may show up before or around it.
    await send([join("n4")]);
    const last = await observer.version(queue, 296);
    expectCleanHistory(observer.of(queue), 1, 296);
    const expected = [...Array.from({ length: 10 }, (_, i) => `u${141 + i}`), "n2", "n3", "n4"];
    expect(last.msg.data.queue.players.map((p) => p.user_id)).toEqual(expected);
    expect(ownerOf([paused], name)).toBeUndefined();

    const [stored, version] = await redis.hmget(hubKeys().queue(name).state, "queue", "version");
    expect(Number(version)).toBe(296);
    expect(JSON.parse(stored as string)).toEqual(last.msg.data.queue);
    expect(paused.child.exitCode).toBeNull();
  }, 60_000);

  it("SIGTERM: the worker releases its leases before it exits, so another worker takes its queues over at once, not after the TTL", async () => {
    const org = "sg";
    const ttl = 10_000;
    const all = await startWorkers(2, { CHECK_IN_TIMEOUT_MS: "60000", QUEUE_LEASE_TTL_MS: String(ttl) });
    const observer = await observe(org);
    const queues = ["a", "b", "c", "d"];
    await send(queues.map((queue_id) => ({ command: "open", org_id: org, queue_id })));
    await Promise.all(queues.map((q) => observer.version(q, 1)));
    const owners = await Promise.all(queues.map((q) => until(`owner of ${q}`, () => ownerOf(all, `${org}/${q}`))));
    // Whichever worker holds queue "a" stops; it may hold others too.
    const leaving = owners[0] as HubProcess;
    const staying = all.find((w) => w !== leaving) as HubProcess;
    const leavingQueues = queues.filter((_, i) => owners[i] === leaving);
    for (const q of leavingQueues) expect(await redis.exists(hubKeys().queue(`${org}/${q}`).lease)).toBe(1);

    expect(await leaving.stop()).toBe(0);
    // Right after the exit: no lease key of its queues is left (they would otherwise live 10 s).
    for (const q of leavingQueues) expect(await redis.exists(hubKeys().queue(`${org}/${q}`).lease), `lease of ${q}`).toBe(0);

    const sentAt = Date.now();
    await send(leavingQueues.map((queue_id) => ({ command: "join", org_id: org, queue_id, user_id: "u" })));
    for (const q of leavingQueues) {
      const applied = await observer.version(q, 2);
      expect(applied.at - sentAt, `${q} waited for a lease TTL`).toBeLessThan(ttl / 2);
      expect(acquiredBy(staying, `${org}/${q}`)).toBe(true);
    }
  }, 60_000);

  it.each([
    ["stopped (SIGTERM)", "rs", "stop"],
    ["killed (kill -9)", "rk", "kill"],
  ] as const)(
    "restart of every worker mid-check-in, %s: the deadline still fires once and no command is lost",
    async (_how, org, how) => {
      const first = await startWorkers(2, { CHECK_IN_TIMEOUT_MS: "4000" });
      const observer = await observe(org);

      await send([
        { command: "open", org_id: org, queue_id: "r", capacity: 4 },
        ...["r1", "r2", "r3", "r4"].map((user_id) => ({ command: "join", org_id: org, queue_id: "r", user_id })),
        { command: "open", org_id: org, queue_id: "s", capacity: 10 },
      ]);
      const full = await observer.version("r", 5);
      expect(full.msg.data.queue.status).toBe("check_in");
      const deadline = full.msg.data.queue.check_in_deadline as number;
      await observer.version("s", 1);

      // A command in flight while every worker goes down: accepted, maybe being applied, when they stop or die.
      await send([{ command: "check_in", org_id: org, queue_id: "r", user_id: "r1" }]);
      await Promise.all(first.map((w) => w[how]()));
      if (how === "stop") expect(first.map((w) => w.child.exitCode)).toEqual([0, 0]);
      else expect(first.map((w) => w.child.signalCode)).toEqual(["SIGKILL", "SIGKILL"]);

      // No worker runs: commands are still accepted, before the deadline.
      await send([
        { command: "check_in", org_id: org, queue_id: "r", user_id: "r2" },
        { command: "join", org_id: org, queue_id: "s", user_id: "s1" },
        { command: "join", org_id: org, queue_id: "s", user_id: "s2" },
        { command: "open", org_id: org, queue_id: "t", capacity: 3 },
      ]);
      expect(Date.now(), "the downtime commands must be sent before the deadline").toBeLessThan(deadline);
      await until("the deadline to pass with no worker running", () => Date.now() > deadline + 50, 10_000);

      const second = await startWorkers(2, { CHECK_IN_TIMEOUT_MS: "4000" });
      const expiry = await until("check_in_expired after the restart", () => observer.expiredOf("r")[0], 15_000);
      expect([...expiry.msg.data.removed].sort()).toEqual(["r3", "r4"]);
      expect(expiry.msg.data.queue).toMatchObject({
        status: "open",
        check_in_deadline: null,
        version: 8,
        players: [
          { user_id: "r1", checked_in: true },
          { user_id: "r2", checked_in: true },
        ],
      });

      await send([
        { command: "join", org_id: org, queue_id: "r", user_id: "r5" },
        { command: "join", org_id: org, queue_id: "s", user_id: "s3" },
        { command: "join", org_id: org, queue_id: "t", user_id: "t1" },
      ]);
      const r = await observer.version("r", 9);
      const s = await observer.version("s", 4);
      const t = await observer.version("t", 2);
      expect(r.msg.data.queue.players.map((p) => p.user_id)).toEqual(["r1", "r2", "r5"]);
      expect(s.msg.data.queue.players.map((p) => p.user_id)).toEqual(["s1", "s2", "s3"]);
      expect(t.msg.data.queue).toMatchObject({ status: "open", capacity: 3, players: [{ user_id: "t1", checked_in: false }] });
      expect(observer.expiredOf("r")).toHaveLength(1);
      expectCleanHistory(observer.of("r"), 1, 9);
      expectCleanHistory(observer.of("s"), 1, 4);
      expectCleanHistory(observer.of("t"), 1, 2);
      expect(second.every((w) => w.child.exitCode === null)).toBe(true);
    },
    60_000,
  );
});
