import { randomInt } from "node:crypto";
import {
  closeAllClients,
  connectClient,
  type HubClient,
  type RedisCluster,
  request,
  serviceToken,
  startRedisCluster,
  until,
  userToken,
} from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import { CommandError, type Queue } from "@hub/events";
import { hubKeys } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  atVersion,
  connectUser,
  type EngineName,
  fresh,
  type QueueHub,
  type QueueWatcher,
  refusalOf,
  startQueueHub,
  waitForLogs,
  watchQueues,
} from "./queue-fixture.js";

/** Redis-only paths (SDK, legacy channel, raw stream entries) are not registered on the memory engine, rather than skipped. */
const NOT_ON_THIS_ENGINE = (..._args: unknown[]): void => {};

/**
 * Inhouse queues end to end (docs/protocol.md "Inhouse queues"), the same suite on every engine:
 * - memory: one gateway running the queues in process;
 * - redis: a redis-server, two gateways and two queue-worker processes, clients spread over both
 *   gateways;
 * - cluster: the same on a 6-process Redis Cluster (both hubs of the suite share it, by key prefix).
 * Real processes, no mocks. Nothing sleeps: tests await events; "nothing else happened" is proven
 * by a sentinel command sent last (commands of a queue apply in order, its events publish in order).
 * Every test has its own org and queues.
 */

/** Long enough that no deadline fires during a test unless it wants one. */
const SLOW_CHECK_IN_MS = 30_000;
/** The smallest timeout the configuration takes: the expiry tests. */
const FAST_CHECK_IN_MS = 1_000;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const userIds = (queue: Queue) => queue.players.map((p) => p.user_id);
const player = (user_id: string, checked_in = false) => ({ user_id, checked_in });
type Reply = { ok: boolean; id?: string; error?: { code: string } };

function defineSuite(engine: EngineName): void {
  describe(`${engine} engine`, () => {
    let hub: QueueHub;
    let fast: QueueHub;
    let cluster: RedisCluster | undefined;
    /** Inspection and raw writes (Redis engines only). */
    let admin: Redis | Cluster | undefined;
    /** A new connection to `hub`'s Redis, as a producer makes it. */
    const connectRedis = () => (cluster ? new Cluster(cluster.startupNodes) : new Redis(hub.redis?.url as string));
    /** The keys matching `pattern`, on every master of a cluster. */
    const keysMatching = async (pattern: string): Promise<string[]> => {
      if (!(admin instanceof Cluster)) return (await admin?.keys(pattern)) ?? [];
      return (await Promise.all(admin.nodes("master").map((node) => node.keys(pattern)))).flat();
    };

    beforeAll(async () => {
      if (engine === "cluster") cluster = await startRedisCluster();
      [hub, fast] = await Promise.all([
        startQueueHub(engine, { checkInTimeoutMs: SLOW_CHECK_IN_MS, ...(cluster ? { cluster } : {}) }),
        startQueueHub(engine, { checkInTimeoutMs: FAST_CHECK_IN_MS, ...(cluster ? { cluster, keyPrefix: "fast" } : {}) }),
      ]);
      if (engine !== "memory") admin = connectRedis();
    });

    afterAll(async () => {
      closeAllClients();
      admin?.disconnect();
      await Promise.all([hub?.close(), fast?.close()]);
      await cluster?.stop();
    });

    /** Gateway urls round robin: clients and producers spread over every gateway. */
    const url = (h: QueueHub, i: number) => h.gateways[i % h.gateways.length]?.url as string;
    /** One watcher per gateway. */
    const watchAll = (h: QueueHub, org: string) => Promise.all(h.gateways.map((g, i) => watchQueues(g.url, org, `watcher-${i}`)));
    const first = (watchers: QueueWatcher[]) => watchers[0] as QueueWatcher;

    it("full lifecycle: open (capacity 10), 10 socket joins, check-in with a deadline, all check in, start_session -> in_session", async () => {
      const org = fresh("org");
      const q = fresh("q");
      const watchers = await watchAll(hub, org);
      const w = first(watchers);

      await hub.send({ command: "open", org_id: org, queue_id: q, capacity: 10 });
      const opened = await w.until(q, atVersion(1));
      expect(opened.envelope.data.queue).toEqual({
        id: q,
        org_id: org,
        status: "open",
        capacity: 10,
        players: [],
        check_in_deadline: null,
        version: 1,
      });
      expect(opened.envelope).toMatchObject({ id: `inhouse.${org}.${q}.v1.queue_updated`, topic: `inhouse:${org}`, org_id: org });

      const users = range(1, 10).map((i) => `p${i}`);
      const players = await Promise.all(users.map((u, i) => connectUser(url(hub, i), org, u)));
      const joinedFrom = Date.now();
      const joins = await Promise.all(players.map((c) => request<Reply>(c, "inhouse.join", { queue_id: q })));
      for (const ack of joins) expect(ack).toEqual({ ok: true, id: expect.stringMatching(UUID_V7) });

      const full = await w.until(q, (x) => x.status === "check_in");
      const checkIn = full.envelope.data.queue;
      expect(checkIn.version).toBe(11);
      expect(checkIn.capacity).toBe(10);
      expect([...userIds(checkIn)].sort()).toEqual([...users].sort());
      expect(checkIn.players.every((p) => !p.checked_in)).toBe(true);
      // The deadline is now + CHECK_IN_TIMEOUT_MS, "now" being when the 10th join was applied.
      expect(checkIn.check_in_deadline).toBeGreaterThanOrEqual(joinedFrom + SLOW_CHECK_IN_MS);
      expect(checkIn.check_in_deadline).toBeLessThanOrEqual(full.at + SLOW_CHECK_IN_MS);
      // Below capacity the queue stayed open, one more player per version.
      for (const v of range(2, 10)) {
        const queue = (await w.until(q, atVersion(v))).envelope.data.queue;
        expect(queue).toMatchObject({ status: "open", check_in_deadline: null });
        expect(queue.players).toHaveLength(v - 1);
      }

      const checkIns = await Promise.all(players.map((c) => request<Reply>(c, "inhouse.check_in", { queue_id: q })));
      for (const ack of checkIns) expect(ack).toMatchObject({ ok: true });
      const ready = (await w.until(q, atVersion(21))).envelope.data.queue;
      expect(ready).toMatchObject({ status: "check_in", check_in_deadline: null });
      expect(ready.players.every((p) => p.checked_in)).toBe(true);
      expect(userIds(ready)).toEqual(userIds(checkIn));

      await hub.send({ command: "start_session", org_id: org, queue_id: q }, 1);
      for (const watcher of watchers) {
        const started = await watcher.until(q, atVersion(22), "session_started");
        const updated = await watcher.until(q, atVersion(22));
        const expected = { ...ready, status: "in_session", version: 22 };
        expect(started.envelope.data).toEqual({ queue: expected });
        expect(started.envelope).toMatchObject({ id: `inhouse.${org}.${q}.v22.session_started`, topic: `inhouse:${org}` });
        expect(updated.envelope.data).toEqual({ queue: expected });
        // Versions strictly increase, without gaps or repeats, on every gateway.
        expect(watcher.versions(q)).toEqual(range(1, 22));
        expect(watcher.of(q, "session_started")).toHaveLength(1);
        expect(watcher.of(q, "check_in_expired")).toHaveLength(0);
      }

      // Closed, the queue opens again afresh, its version going on.
      await hub.send({
        commands: [
          { command: "close", org_id: org, queue_id: q },
          { command: "open", org_id: org, queue_id: q, capacity: 2 },
        ],
      });
      expect((await w.until(q, atVersion(23))).envelope.data.queue).toMatchObject({ status: "closed", check_in_deadline: null });
      expect((await w.until(q, atVersion(24))).envelope.data.queue).toEqual({
        id: q,
        org_id: org,
        status: "open",
        capacity: 2,
        players: [],
        check_in_deadline: null,
        version: 24,
      });
    });

    it("expiry: the deadline passes -> exactly one check_in_expired per round, the checked-in players stay, the queue reopens", async () => {
      const org = fresh("org");
      const q = fresh("q");
      const ready = fresh("ready");
      const left = fresh("left");
      const watchers = await watchAll(fast, org);
      const w = first(watchers);
      const cmd = (command: string, user_id?: string, queue_id = q) => ({ command, org_id: org, queue_id, user_id });

      // A queue where everyone checks in: its deadline passes too, and must not fire.
      await fast.send({
        commands: [
          { ...cmd("open", undefined, ready), capacity: 2 },
          cmd("join", "r1", ready),
          cmd("join", "r2", ready),
          cmd("check_in", "r1", ready),
          cmd("check_in", "r2", ready),
        ],
      });
      const readyQueue = (await w.until(ready, atVersion(5))).envelope.data.queue;
      expect(readyQueue).toMatchObject({ status: "check_in", check_in_deadline: null });
      // A queue whose check-in round ends by a leave: its deadline is gone too.
      await fast.send({
        commands: [
          { ...cmd("open", undefined, left), capacity: 2 },
          cmd("join", "l1", left),
          cmd("join", "l2", left),
          cmd("leave", "l2", left),
        ],
      });
      const leftQueue = (await w.until(left, atVersion(4))).envelope.data.queue;
      expect(leftQueue).toMatchObject({ status: "open", check_in_deadline: null, players: [player("l1")] });
      expect((await w.until(left, atVersion(3))).envelope.data.queue.status).toBe("check_in");

      // One batch: applied back to back, so the check-ins land well before the 1 s deadline.
      await fast.send({
        commands: [
          { ...cmd("open"), capacity: 4 },
          cmd("join", "u1"),
          cmd("join", "u2"),
          cmd("join", "u3"),
          cmd("join", "u4"),
          cmd("check_in", "u1"),
          cmd("check_in", "u3"),
        ],
      });
      const full = await w.until(q, atVersion(5));
      const deadline = full.envelope.data.queue.check_in_deadline as number;
      expect(full.envelope.data.queue.status).toBe("check_in");
      expect(deadline).toBeGreaterThan(full.at);
      expect(deadline).toBeLessThanOrEqual(full.at + FAST_CHECK_IN_MS);

      const expired = await w.until(q, atVersion(8), "check_in_expired");
      const reopened = { id: q, org_id: org, status: "open", capacity: 4, check_in_deadline: null };
      expect(expired.envelope.data).toEqual({
        queue: { ...reopened, players: [player("u1", true), player("u3", true)], version: 8 },
        removed: ["u2", "u4"],
      });
      expect(expired.envelope.id).toBe(`inhouse.${org}.${q}.v8.check_in_expired`);
      // Not before the deadline, and on time (the owner is alive).
      expect(expired.at).toBeGreaterThanOrEqual(deadline);
      expect(expired.at).toBeLessThan(deadline + 1_000);
      expect((await w.until(q, atVersion(8))).envelope.data.queue).toEqual(expired.envelope.data.queue);

      // A second round: the new deadline fires too, once.
      await fast.send({ commands: [cmd("join", "u5"), cmd("join", "u6")] }, 1);
      const second = await w.until(q, atVersion(11), "check_in_expired");
      expect(second.envelope.data).toEqual({
        queue: { ...reopened, players: [player("u1", true), player("u3", true)], version: 11 },
        removed: ["u5", "u6"],
      });

      // Sentinel, sent last.
      await fast.send(cmd("join", "u7"));
      for (const watcher of watchers) {
        await watcher.until(q, atVersion(12));
        expect(watcher.of(q, "check_in_expired").map((e) => e.envelope.data.queue.version)).toEqual([8, 11]);
        expect(watcher.versions(q)).toEqual(range(1, 12));
        // The ready and left queues' deadlines passed over a second ago: nothing fired.
        expect(watcher.of(ready, "check_in_expired")).toEqual([]);
        expect(watcher.versions(ready)).toEqual(range(1, 5));
        expect(watcher.of(left, "check_in_expired")).toEqual([]);
        expect(watcher.versions(left)).toEqual(range(1, 4));
      }
    });

    it("concurrent joins: 40 users of the org join a capacity-10 queue at once from every gateway -> exactly 10, no lost update", async () => {
      const org = fresh("org");
      const q = fresh("q");
      const watchers = await watchAll(hub, org);
      const w = first(watchers);
      await hub.send({ command: "open", org_id: org, queue_id: q, capacity: 10 });
      await w.until(q, atVersion(1));

      const users = range(1, 40).map((i) => `c${i}`);
      const clients = await Promise.all(users.map((u, i) => connectUser(url(hub, i), org, u)));
      const acks = await Promise.all(clients.map((c) => request<Reply>(c, "inhouse.join", { queue_id: q })));
      for (const ack of acks) expect(ack).toEqual({ ok: true, id: expect.stringMatching(UUID_V7) });
      const ackIds = acks.map((a) => a.id as string);
      expect(new Set(ackIds).size).toBe(40);

      const full = (await w.until(q, (x) => x.status === "check_in")).envelope.data.queue;
      // Sentinel after every join is durably accepted: when its update arrives, all 40 were handled.
      const firstPlayer = full.players[0]?.user_id as string;
      await hub.send({ command: "check_in", org_id: org, queue_id: q, user_id: firstPlayer }, 1);

      for (const watcher of watchers) {
        const last = (await watcher.until(q, atVersion(12))).envelope.data.queue;
        expect(watcher.versions(q)).toEqual(range(1, 12));
        const updates = watcher.of(q, "queue_updated").map((e) => e.envelope.data.queue);
        // Never more than capacity; each join adds exactly one player and loses none.
        for (const [i, queue] of updates.entries()) {
          expect(queue.players.length).toBeLessThanOrEqual(10);
          if (i >= 1 && i <= 10) {
            expect(userIds(queue).slice(0, -1)).toEqual(userIds(updates[i - 1] as Queue));
            expect(queue.status).toBe(i < 10 ? "open" : "check_in");
          }
        }
        expect(last).toEqual({ ...full, players: full.players.map((p, i) => ({ ...p, checked_in: i === 0 })), version: 12 });
      }
      expect(full.players).toHaveLength(10);
      expect(new Set(userIds(full)).size).toBe(10);

      // The other 30 were refused, each logged once: 10 applied + 30 refused = every command.
      const refusals = await waitForLogs(hub.runners, refusalOf(org, q), 30);
      expect(refusals).toHaveLength(30);
      expect(new Set(refusals.map((l) => l.reason))).toEqual(new Set(["cannot join while check_in"]));
      const refusedIds = new Set(refusals.map((l) => l.command_id as string));
      expect(refusedIds.size).toBe(30);
      for (const id of refusedIds) expect(ackIds).toContain(id);
      const applied = users.filter((_, i) => !refusedIds.has(ackIds[i] as string));
      expect(new Set(applied)).toEqual(new Set(userIds(full)));
    });

    it("tenancy: other orgs, service sockets and malformed requests are refused; the queue is unchanged; a user acts as itself", async () => {
      const orgA = fresh("orga");
      const orgB = fresh("orgb");
      const q = fresh("q");
      const w = await watchQueues(url(hub, 0), orgA);
      await hub.send({
        commands: [
          { command: "open", org_id: orgA, queue_id: q, capacity: 3 },
          { command: "join", org_id: orgA, queue_id: q, user_id: "a1" },
        ],
      });
      const before = (await w.until(q, atVersion(2))).envelope.data.queue;

      const intruder = await connectUser(url(hub, 1), orgB, "intruder");
      for (const event of ["inhouse.join", "inhouse.leave", "inhouse.check_in"]) {
        expect(await request(intruder, event, { queue_id: q, org_id: orgA })).toMatchObject({ ok: false, error: { code: "forbidden" } });
      }
      // Nor may it watch org A's queues.
      expect(await request(intruder, "subscribe", { topic: `inhouse:${orgA}` })).toMatchObject({ ok: false, error: { code: "forbidden" } });

      const serviceSocket: HubClient = await connectClient(url(hub, 0), await serviceToken("queue-tests"));
      for (const body of [{ queue_id: q }, { queue_id: q, org_id: orgA }]) {
        expect(await request(serviceSocket, "inhouse.join", body)).toMatchObject({ ok: false, error: { code: "forbidden" } });
      }

      const member = await connectUser(url(hub, 1), orgA, "a2");
      for (const body of ["q", 42, null, [], {}, { queue_id: "" }, { queue_id: "has space" }, { queue_id: "a/b" }, { queue_id: ["x"] }]) {
        expect(await request(member, "inhouse.join", body), JSON.stringify(body)).toMatchObject({
          ok: false,
          error: { code: "bad_request" },
        });
      }
      expect(await request(member, "inhouse.join")).toMatchObject({ ok: false, error: { code: "bad_request" } });

      // The member's own org, explicitly, is fine; a user_id in the request is ignored: it acts as its token's sub.
      expect(await request(member, "inhouse.join", { queue_id: q, org_id: orgA, user_id: "a9" })).toMatchObject({ ok: true });
      const after = (await w.until(q, atVersion(3))).envelope.data.queue;
      expect(after).toEqual({ ...before, players: [player("a1"), player("a2")], version: 3 });
      expect(w.versions(q)).toEqual([1, 2, 3]);
    });

    it("a user's command for a queue that does not exist or is closed is refused with not_found and leaves nothing behind", async () => {
      const org = fresh("org");
      const closed = fresh("closed");
      const w = await watchQueues(url(hub, 0), org);
      await hub.send({
        commands: [
          { command: "open", org_id: org, queue_id: closed },
          { command: "close", org_id: org, queue_id: closed },
        ],
      });
      await w.until(closed, (q) => q.status === "closed");
      const user = await connectUser(url(hub, 1), org, "ghost-maker");
      const ghosts = range(1, 12).map((n) => `ghost-${org}-${n}`);
      for (const queue_id of [...ghosts, closed]) {
        for (const event of ["inhouse.join", "inhouse.leave", "inhouse.check_in"]) {
          expect(await request(user, event, { queue_id }), `${event} ${queue_id}`).toMatchObject({
            ok: false,
            error: { code: "not_found" },
          });
        }
      }
      // A client's object with a toString of its own is a bad request, not an internal error.
      expect(await request(user, "inhouse.join", { queue_id: closed, org_id: { toString: null } })).toMatchObject({
        ok: false,
        error: { code: "bad_request" },
      });
      if (admin) {
        const keys = await keysMatching(`*ghost-${org}-*`);
        expect(keys).toEqual([]);
        const names = [...ghosts, closed].map((queue_id) => `${org}/${queue_id}`);
        const active = await Promise.all(names.map((name) => admin?.sismember(hubKeys().queue(name).active, name)));
        expect(active.every((member) => member === 0)).toBe(true);
      }
    });

    (engine !== "memory" ? it : NOT_ON_THIS_ENGINE)(
      "a service command refused for a queue that was never opened is retired: no active entry, lease or key stays",
      async () => {
        const org = fresh("org");
        const q = fresh("never");
        const sentinel = fresh("sentinel");
        const w = await watchQueues(url(hub, 0), org);
        await hub.send({ commands: [{ command: "join", org_id: org, queue_id: q, user_id: "u1" }] });
        await hub.send({ commands: [{ command: "open", org_id: org, queue_id: sentinel }] });
        await w.until(sentinel, atVersion(1));
        const k = hubKeys().queue(`${org}/${q}`);
        // The command's dedupe mark is the queue's too (its slot), and lives out its window.
        const mark = k.commandSeen("");
        const left = await until(`queue ${q} retired`, async () => {
          const keys = (await keysMatching(`*${q}*`)).filter((key) => !key.startsWith(mark));
          const active = await admin?.sismember(k.active, `${org}/${q}`);
          return keys.length === 0 && active === 0 ? { keys, active } : undefined;
        });
        expect(left).toEqual({ keys: [], active: 0 });
        const marks = await keysMatching(`${mark}*`);
        expect(marks).toHaveLength(1);
        const ttl = (await admin?.pttl(marks[0] as string)) ?? 0;
        expect(ttl > 0 && ttl <= 5 * 60_000, `dedupe mark TTL ${ttl}`).toBe(true);
        expect(w.versions(q)).toEqual([]);
      },
    );

    it("HTTP commands: 401 without a token, 403 with a user token, 400 invalid_command with issues, none of a bad batch accepted", async () => {
      const org = fresh("org");
      const q = fresh("q");
      const w = await watchQueues(url(hub, 0), org);
      const open = { command: "open", org_id: org, queue_id: q };

      const anonymous = await hub.post(open, { token: null });
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ error: { code: "unauthorized" } });
      const asUser = await hub.post(open, { token: await userToken({ sub: "u1", org_id: org }) });
      expect(asUser.status).toBe(403);
      expect(await asUser.json()).toMatchObject({ error: { code: "forbidden" } });

      const invalid = async (body: unknown, issue: RegExp) => {
        const res = await hub.post(body, { gateway: 1 });
        expect(res.status, JSON.stringify(body)).toBe(400);
        const reply = (await res.json()) as { error: { code: string; issues?: string[] } };
        expect(reply.error.code).toBe("invalid_command");
        expect(
          reply.error.issues?.some((i) => issue.test(i)),
          JSON.stringify(reply.error.issues),
        ).toBe(true);
      };
      await invalid({ ...open, command: "explode" }, /^commands\.0\.command/);
      await invalid({ command: "join", org_id: org, queue_id: q }, /^commands\.0\.user_id/);
      await invalid({ command: "check_in", org_id: org, queue_id: q }, /^commands\.0\.user_id/);
      for (const capacity of [1, 101, 2.5, "10"]) await invalid({ ...open, capacity }, /^commands\.0\.capacity/);
      await invalid({ ...open, queue_id: "a/b" }, /^commands\.0\.queue_id/);
      await invalid({ ...open, colour: "red" }, /^commands\.0/);
      await invalid(
        {
          commands: [
            { ...open, capacity: 5 },
            { command: "leave", org_id: org, queue_id: q },
          ],
        },
        /^commands\.1\.user_id/,
      );

      for (const body of [[open], { commands: [] }, { commands: open }, "open"]) {
        const res = await hub.post(body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: "bad_request" } });
      }

      // Had the bad batch's valid open (capacity 5) been accepted, this open would be refused.
      await hub.send({ ...open, capacity: 3 });
      expect((await w.until(q, atVersion(1))).envelope.data.queue.capacity).toBe(3);
      expect(w.versions(q)).toEqual([1]);
    });

    it("HTTP batches are accepted in order, per queue, across requests and gateways; given ids are kept", async () => {
      const org = fresh("org");
      const q = fresh("q");
      const w = await watchQueues(url(hub, 1), org);
      const cmd = (command: string, user_id?: string) => ({ command, org_id: org, queue_id: q, user_id });
      const ids = await hub.send({
        commands: [{ ...cmd("open"), capacity: 3, id: fresh("open") }, cmd("join", "a"), cmd("join", "b"), cmd("leave", "a")],
      });
      expect(ids).toHaveLength(4);
      expect(ids[0]).toMatch(/^open-/);
      for (const id of ids.slice(1)) expect(id).toMatch(UUID_V7);
      const more = await hub.send({ commands: [cmd("join", "c"), cmd("join", "a"), cmd("check_in", "c")] }, 1);
      expect(more).toHaveLength(3);

      await w.until(q, atVersion(7));
      const states = w.of(q, "queue_updated").map((e) => [e.envelope.data.queue.status, userIds(e.envelope.data.queue)]);
      expect(states).toEqual([
        ["open", []],
        ["open", ["a"]],
        ["open", ["a", "b"]],
        ["open", ["b"]],
        ["open", ["b", "c"]],
        ["check_in", ["b", "c", "a"]],
        ["check_in", ["b", "c", "a"]],
      ]);
      expect(w.of(q, "queue_updated").at(-1)?.envelope.data.queue.players).toEqual([player("b"), player("c", true), player("a")]);
    });

    it("integer ids, as the Rails backend sends them, name the same org, queue and players as their strings", async () => {
      const org = randomInt(1, 2 ** 40);
      const q = randomInt(1, 2 ** 40);
      const w = await watchQueues(url(hub, 0), String(org));
      await hub.send({
        commands: [
          { command: "open", org_id: org, queue_id: q, capacity: 2 },
          { command: "join", org_id: org, queue_id: q, user_id: 7 },
        ],
      });
      // A user's join is only for a queue that exists: wait until the worker has applied the open (and the join).
      await w.until(String(q), atVersion(2));
      const member = await connectClient(url(hub, 1), await userToken({ sub: 8, org_id: org }));
      expect(await request(member, "inhouse.join", { queue_id: q, org_id: org })).toMatchObject({ ok: true });
      await hub.send({ command: "check_in", org_id: String(org), queue_id: String(q), user_id: "7" }, 1);
      expect(await request(member, "inhouse.check_in", { queue_id: String(q) })).toMatchObject({ ok: true });
      const ready = (await w.until(String(q), atVersion(5))).envelope.data.queue;
      expect(ready).toEqual({
        id: String(q),
        org_id: String(org),
        status: "check_in",
        capacity: 2,
        players: [player("7", true), player("8", true)],
        check_in_deadline: null,
        version: 5,
      });
      expect(w.versions(String(q))).toEqual(range(1, 5));
    });

    it("command ids deduplicate: the same command id sent twice is applied once", async () => {
      const org = fresh("org");
      const q = fresh("q");
      const w = await watchQueues(url(hub, 0), org);
      const joinId = fresh("join");
      const join = { id: joinId, command: "join", org_id: org, queue_id: q, user_id: "u1" };

      await hub.send({ command: "open", org_id: org, queue_id: q });
      expect(await hub.send(join)).toEqual([joinId]);
      await w.until(q, atVersion(2));
      await hub.send({ command: "leave", org_id: org, queue_id: q, user_id: "u1" });
      await w.until(q, atVersion(3));
      // The same join again, through the other gateway: accepted (202, same id), without effect.
      expect(await hub.send(join, 1)).toEqual([joinId]);
      expect(await hub.send({ commands: [join] })).toEqual([joinId]);

      // Sentinel: had the join been applied again, u1 would be back in the queue before u2.
      await hub.send({ command: "join", org_id: org, queue_id: q, user_id: "u2" }, 1);
      const last = (await w.until(q, (x) => x.players.some((p) => p.user_id === "u2"))).envelope.data.queue;
      expect(last).toMatchObject({ version: 4, players: [player("u2")] });
      expect(w.versions(q)).toEqual([1, 2, 3, 4]);
    });

    it("supervision: refused commands on one queue are logged with its name and stop neither it nor other queues", async () => {
      const org = fresh("org");
      const a = fresh("qa");
      const b = fresh("qb");
      const w = await watchQueues(url(hub, 0), org);
      const cmd = (command: string, queue_id: string, user_id?: string) => ({ command, org_id: org, queue_id, user_id });
      await hub.send({ commands: [{ ...cmd("open", a), capacity: 2 }, { ...cmd("open", b), capacity: 2 }, cmd("join", a, "a1")] });
      await w.until(a, atVersion(2));
      await w.until(b, atVersion(1));

      const refusedIds = await hub.send({
        commands: [cmd("join", a, "a1"), cmd("check_in", a, "a1"), cmd("start_session", a), cmd("leave", a, "zz"), cmd("open", a)],
      });
      await hub.send(cmd("join", b, "b1"), 1);
      expect((await w.until(b, atVersion(2))).envelope.data.queue.players).toEqual([player("b1")]);
      await hub.send(cmd("join", a, "a2"));
      expect((await w.until(a, atVersion(3))).envelope.data.queue).toMatchObject({
        status: "check_in",
        players: [player("a1"), player("a2")],
      });
      expect(w.versions(a)).toEqual([1, 2, 3]);

      const lines = await waitForLogs(hub.runners, refusalOf(org, a), 5);
      expect(lines.map((l) => [l.command_id, l.command, l.reason])).toEqual([
        [refusedIds[0], "join", "already in the queue"],
        [refusedIds[1], "check_in", "check-in is not open"],
        [refusedIds[2], "start_session", "start_session needs a full queue with everyone checked in"],
        [refusedIds[3], "leave", "not in the queue"],
        [refusedIds[4], "open", "queue is already open"],
      ]);
      expect(lines.every((l) => l.level === "info")).toBe(true);
      expect(hub.runners.flatMap((p) => p.logs).filter(refusalOf(org, b))).toEqual([]);
      for (const p of hub.runners) expect(p.child.exitCode).toBeNull();
    });

    (engine !== "memory" ? it : NOT_ON_THIS_ENGINE)(
      "SDK: createHubEmitter({ redis }).inhouse.* drives a queue through its whole life, and validates",
      async () => {
        const org = fresh("org");
        const q = fresh("q");
        const w = await watchQueues(url(hub, 1), org);
        const producer = connectRedis();
        try {
          const sdk = createHubEmitter({ redis: producer }).inhouse;
          const target = { org_id: org, queue_id: q };
          expect(await sdk.open({ ...target, capacity: 2 })).toMatch(UUID_V7);
          await sdk.join({ ...target, user_id: "a" });
          await sdk.join({ ...target, user_id: "b" });
          const full = (await w.until(q, atVersion(3))).envelope.data.queue;
          expect(full).toMatchObject({ status: "check_in", players: [player("a"), player("b")] });
          expect(full.check_in_deadline).toBeGreaterThan(Date.now());
          await sdk.checkIn({ ...target, user_id: "a" });
          await sdk.leave({ ...target, user_id: "b" });
          expect((await w.until(q, atVersion(5))).envelope.data.queue).toMatchObject({
            status: "open",
            players: [player("a", true)],
            check_in_deadline: null,
          });
          expect(
            await sdk.send([
              { ...target, command: "join", user_id: "b", id: "sdk-join-b" },
              { ...target, command: "check_in", user_id: "b" },
            ]),
          ).toEqual(["sdk-join-b", expect.stringMatching(UUID_V7)]);
          await sdk.startSession(target);
          const started = await w.until(q, atVersion(8), "session_started");
          expect(started.envelope.data.queue).toMatchObject({ status: "in_session", players: [player("a", true), player("b", true)] });
          await sdk.close(target);
          expect((await w.until(q, atVersion(9))).envelope.data.queue.status).toBe("closed");
          // A closed queue opens again, the version going on.
          await sdk.open(target);
          expect((await w.until(q, atVersion(10))).envelope.data.queue).toMatchObject({ status: "open", capacity: 10, players: [] });
          expect(w.versions(q)).toEqual(range(1, 10));

          // user_id is required by the types; a JavaScript caller without it is refused at run time too.
          await expect(sdk.join(target as Parameters<typeof sdk.join>[0])).rejects.toBeInstanceOf(CommandError);
          await expect(sdk.open({ ...target, capacity: 1 })).rejects.toBeInstanceOf(CommandError);
          await expect(
            sdk.send([
              { ...target, command: "join", user_id: "c" },
              { ...target, command: "check_in" },
            ]),
          ).rejects.toBeInstanceOf(CommandError);
          // None of the rejected batch was sent: the sentinel is the next version.
          await sdk.join({ ...target, user_id: "d" });
          expect((await w.until(q, atVersion(11))).envelope.data.queue.players).toEqual([player("d")]);
        } finally {
          producer.disconnect();
        }
      },
    );

    (engine !== "memory" ? it : NOT_ON_THIS_ENGINE)(
      "legacy: PUBLISH inhouse.session_started on prostaff:events:{org} starts a ready queue's session exactly once with 2 gateways",
      async () => {
        const org = fresh("org");
        const q = fresh("q");
        const watchers = await watchAll(hub, org);
        const cmd = (command: string, user_id?: string) => ({ command, org_id: org, queue_id: q, user_id });
        await hub.send({
          commands: [{ ...cmd("open"), capacity: 2 }, cmd("join", "a"), cmd("join", "b"), cmd("check_in", "a"), cmd("check_in", "b")],
        });
        await first(watchers).until(q, atVersion(5));

        const rails = connectRedis();
        try {
          const message = JSON.stringify({
            type: "inhouse.session_started",
            org_id: org,
            user_id: null,
            payload: { queue_id: q },
            published_at: new Date().toISOString(),
          });
          // Both gateways receive it (on a cluster PUBLISH counts the receiving node's subscribers
          // only); the Rails side retries it once.
          for (const _ of [1, 2]) {
            const receivers = await rails.publish(`prostaff:events:${org}`, message);
            if (engine === "redis") expect(receivers).toBe(2);
          }
        } finally {
          rails.disconnect();
        }
        for (const watcher of watchers) {
          const started = await watcher.until(q, atVersion(6), "session_started");
          expect(started.envelope.data.queue).toMatchObject({ status: "in_session", players: [player("a", true), player("b", true)] });
        }
        // Sentinel.
        await hub.send(cmd("close"), 1);
        for (const watcher of watchers) {
          await watcher.until(q, atVersion(7));
          expect(watcher.of(q, "session_started")).toHaveLength(1);
          expect(watcher.versions(q)).toEqual(range(1, 7));
        }
        // Applied commands are trimmed from the stream; only the cursor's own entry (the close) stays.
        expect(await admin?.xlen(hubKeys().queue(`${org}/${q}`).commands)).toBe(1);
        // One start_session applied though 2 nodes saw 2 messages: a second would have been refused.
        expect(hub.runners.flatMap((p) => p.logs).filter((l) => refusalOf(org, q)(l) && l.command === "start_session")).toEqual([]);
      },
    );

    (engine !== "memory" ? it : NOT_ON_THIS_ENGINE)(
      "supervision: an unreadable stream entry is refused and skipped; the queue keeps working",
      async () => {
        const org = fresh("org");
        const q = fresh("q");
        const w = await watchQueues(url(hub, 0), org);
        await hub.send({ command: "open", org_id: org, queue_id: q, capacity: 3 });
        await w.until(q, atVersion(1));
        // What a buggy producer writing to Redis directly might leave; the next command wakes the owner.
        await admin?.xadd(hubKeys().queue(`${org}/${q}`).commands, "*", "command", "{not json");
        await hub.send({ command: "join", org_id: org, queue_id: q, user_id: "u1" });
        expect((await w.until(q, atVersion(2))).envelope.data.queue.players).toEqual([player("u1")]);
        const [line] = await waitForLogs(hub.runners, refusalOf(org, q));
        expect(line).toMatchObject({ reason: "unreadable command" });
        for (const p of hub.runners) expect(p.child.exitCode).toBeNull();
      },
    );

    // A `sync` entry without a snapshot once threw a TypeError in the state machine, which left the
    // cursor in place: the queue retried it every second and never applied a later command. The
    // state machine now refuses it; any other exception there is skipped the same way and counted
    // (hub_queue_failures_total{reason="command_threw"}, packages/inhouse/src/queue-worker.test.ts).
    (engine !== "memory" ? it : NOT_ON_THIS_ENGINE)(
      "supervision: a sync entry without a snapshot (once a TypeError) is refused; the next command of its queue and other queues apply",
      async () => {
        const org = fresh("org");
        const a = fresh("qa");
        const b = fresh("qb");
        const w = await watchQueues(url(hub, 0), org);
        await hub.send({
          commands: [
            { command: "open", org_id: org, queue_id: a },
            { command: "open", org_id: org, queue_id: b },
          ],
        });
        await w.until(a, atVersion(1));
        await w.until(b, atVersion(1));
        const poisonId = fresh("poison");
        const poison = JSON.stringify({ id: poisonId, command: "sync", org_id: org, queue_id: a });
        await admin?.xadd(hubKeys().queue(`${org}/${a}`).commands, "*", "command", poison);
        await hub.send({ command: "join", org_id: org, queue_id: a, user_id: "a1" });
        await hub.send({ command: "join", org_id: org, queue_id: b, user_id: "b1" }, 1);
        // Bounded: a wedged queue never applies the join.
        expect((await w.until(a, atVersion(2), "queue_updated", 5_000)).envelope.data.queue.players).toEqual([player("a1")]);
        expect((await w.until(b, atVersion(2))).envelope.data.queue.players).toEqual([player("b1")]);
        const [line] = await waitForLogs(hub.runners, (l) => refusalOf(org, a)(l) && l.command_id === poisonId);
        expect(line).toMatchObject({ command: "sync", reason: "invalid sync snapshot: missing (null closes the queue)" });
        expect(hub.runners.flatMap((p) => p.logs).filter((l) => l.msg === "queue run failed" && l.queue === `${org}/${a}`)).toEqual([]);
        // The workers count it as a refused sync, and expose the failure counter by reason.
        const scraped = await Promise.all(
          hub.runners.map(async (p) => {
            const started = p.logs.find((l) => l.msg === "queue-worker started");
            return (await fetch(`http://127.0.0.1:${started?.metrics_port}/metrics`)).text();
          }),
        );
        const total = (pattern: RegExp) => scraped.reduce((sum, text) => sum + Number(pattern.exec(text)?.[1] ?? 0), 0);
        expect(total(/^hub_queue_commands_total\{kind="sync",outcome="refused"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
        for (const text of scraped) expect(text).toMatch(/^hub_queue_failures_total\{reason="command_threw"\} \d+$/m);
        for (const p of hub.runners) expect(p.child.exitCode).toBeNull();
      },
    );

    (engine !== "memory" ? it : NOT_ON_THIS_ENGINE)(
      "supervision: a command the state machine does not know is skipped; its queue keeps applying later commands",
      async () => {
        const org = fresh("org");
        const q = fresh("q");
        const w = await watchQueues(url(hub, 0), org);
        await hub.send({ command: "open", org_id: org, queue_id: q });
        await w.until(q, atVersion(1));
        const poison = JSON.stringify({ id: fresh("poison"), command: "explode", org_id: org, queue_id: q });
        await admin?.xadd(hubKeys().queue(`${org}/${q}`).commands, "*", "command", poison);
        await hub.send({ command: "join", org_id: org, queue_id: q, user_id: "u1" });
        // Bounded: a wedged queue never applies the join.
        expect((await w.until(q, atVersion(2), "queue_updated", 5_000)).envelope.data.queue.players).toEqual([player("u1")]);
      },
    );
  });
}

defineSuite("memory");
defineSuite("redis");
defineSuite("cluster");
