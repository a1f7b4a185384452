import { type RedisCluster, type RedisServer, startRedis, startRedisCluster, until } from "@hub/devkit";
import type { Envelope } from "@hub/events";
import type { PushSettings } from "@hub/runtime";
import { hubKeys, PUSH_BUCKETS, pushBucket } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConversationMembers } from "../src/push/conversation-members.js";
import { memoryConversationMembers } from "../src/push/memory-conversation-members.js";
import { memoryPushQueue } from "../src/push/memory-push-queue.js";
import { type PushOutcome, startPushDispatcher } from "../src/push/push-dispatcher.js";
import { createPushHook, type PushHook } from "../src/push/push-hook.js";
import type { PendingPush, PushKind } from "../src/push/push-payload.js";
import type { PushQueue } from "../src/push/push-queue.js";
import { redisConversationMembers } from "../src/push/redis-conversation-members.js";
import { redisPushQueue } from "../src/push/redis-push-queue.js";
import { type PushEndpoint, startPushEndpoint } from "./push-endpoint.js";

/**
 * The push queue on each store (in process, a redis-server, a 6-process Redis Cluster) and the hook
 * and dispatcher over it, against a local push endpoint: queued once per (event, user), claimed by
 * one dispatcher at a time, retried, given up.
 */

const logger = pino({ level: "silent" });
const envelope = (id: string): Envelope => ({ id, type: "call.incoming", topic: "calls:7", org_id: "o1", data: { from: "a" }, ts: 1 });
const pending = (id: string, userId = "u1"): PendingPush => ({
  payload: { kind: "call", id, user_id: userId, org_id: "o1", topic: "calls:7", event: "call.incoming", data: {}, ts: 1 },
  offeredAt: Date.now(),
  attempts: 0,
});
let serial = 0;
const fresh = (name: string) => `${name}-${++serial}-${Math.random().toString(36).slice(2, 8)}`;

let redis: RedisServer;
let cluster: RedisCluster;
const clients: Array<Redis | Cluster> = [];

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

const stores: Array<[string, () => PushQueue]> = [
  ["memory", () => memoryPushQueue()],
  [
    "redis",
    () => {
      const client = new Redis(redis.url);
      clients.push(client);
      return redisPushQueue(client, hubKeys("pq"));
    },
  ],
  [
    "cluster",
    () => {
      const client = new Cluster(cluster.startupNodes);
      clients.push(client);
      return redisPushQueue(client, hubKeys("pq"));
    },
  ],
];

describe.each(stores)("push queue (%s)", (_name, open) => {
  it("queues an entry once, and a claimed one is nobody else's until its lease ends", async () => {
    const queue = open();
    const id = fresh("e");
    expect(await queue.offer(`${id}/u1`, pending(id), 60_000)).toBe("queued");
    expect(await queue.offer(`${id}/u1`, pending(id), 60_000)).toBe("duplicate");
    const claimed = (await queue.claim(60_000, 1_000)).filter((c) => c.pending.payload.id === id);
    expect(claimed).toHaveLength(1);
    expect((await queue.claim(60_000, 1_000)).filter((c) => c.pending.payload.id === id)).toEqual([]);
    await queue.remove(claimed[0] as (typeof claimed)[0]);
    // Sent and removed: offered again within its lifetime, still a duplicate.
    expect(await queue.offer(`${id}/u1`, pending(id), 60_000)).toBe("duplicate");
  });

  it("puts a retried entry back with its failures counted, and a claim whose lease ended is due again", async () => {
    const queue = open();
    const id = fresh("r");
    await queue.offer(id, pending(id), 60_000);
    const [claimed] = (await queue.claim(1, 1_000)).filter((c) => c.pending.payload.id === id);
    if (!claimed) throw new Error("not claimed");
    // Its 1 ms lease ended: another dispatcher may take it (at least once).
    let again: typeof claimed | undefined;
    await until("the lease ends", async () => {
      again = (await queue.claim(60_000, 1_000)).find((c) => c.pending.payload.id === id);
      return again !== undefined;
    });
    await queue.retry({ entryId: id, pending: { ...claimed.pending, attempts: 3 } }, 0);
    const retried = (await queue.claim(60_000, 1_000)).find((c) => c.pending.payload.id === id);
    expect(retried?.pending.attempts).toBe(3);
  });

  it("claims entries of users in every bucket", async () => {
    const queue = open();
    const users = Array.from({ length: 64 }, (_, i) => fresh(`user${i}`));
    expect(new Set(users.map((u) => pushBucket("o1", u))).size).toBeGreaterThan(PUSH_BUCKETS / 2);
    const id = fresh("b");
    for (const user of users) await queue.offer(`${id}/${user}`, pending(id, user), 60_000);
    const seen = new Set<string>();
    await until("every user's entry is claimed", async () => {
      for (const c of await queue.claim(60_000, 1_000)) if (c.pending.payload.id === id) seen.add(c.pending.payload.user_id);
      return seen.size === users.length;
    });
  });
});

describe.each(stores)("push hook and dispatcher (%s)", (name, open) => {
  let endpoint: PushEndpoint;
  const hooks: PushHook[] = [];
  const outcomes: Array<[PushKind, PushOutcome]> = [];
  const settings = (overrides: Partial<PushSettings> = {}): PushSettings => ({
    url: endpoint.url,
    timeoutMs: 1_000,
    maxAgeMs: 86_400_000,
    concurrency: 4,
    retryBaseMs: 20,
    ...overrides,
  });
  /** A gateway's hook and dispatcher over `queue`; `online` answers who has a socket. */
  const start = (queue: PushQueue, overrides: Partial<PushSettings> = {}, online: (userId: string) => boolean = () => false) => {
    const onOutcome = (kind: PushKind, outcome: PushOutcome) => void outcomes.push([kind, outcome]);
    const all = settings(overrides);
    const sessions = { online: async (_org: string, userId: string) => online(userId) };
    const dispatcher = startPushDispatcher({
      queue,
      sessions,
      settings: all,
      internalSecret: "test-internal-secret-0123456789abcdef",
      logger,
      onOutcome,
    });
    const hook = createPushHook({ queue, dispatcher, maxAgeMs: all.maxAgeMs, logger, onOutcome });
    hooks.push(hook);
    return hook;
  };

  beforeAll(async () => {
    endpoint = await startPushEndpoint();
  });
  afterEach(async () => {
    await Promise.all(hooks.splice(0).map((hook) => hook.close()));
    endpoint.answer = () => 200;
  });
  afterAll(() => endpoint?.close());

  it("pushes an event offered twice (on two gateways) once", async () => {
    const queue = open();
    // The memory engine is one process: its gateway is the only one.
    const [a, b] = [start(queue), start(name === "memory" ? queue : open())];
    const id = fresh("twice");
    const user = fresh("u");
    a.offer({ kind: "call", userId: user, orgId: "o1", envelope: envelope(id), event: "call.incoming" });
    b.offer({ kind: "call", userId: user, orgId: "o1", envelope: envelope(id), event: "call.incoming" });
    await until(
      "the push is sent and the second offer refused",
      () =>
        endpoint.to(user).length === 1 &&
        outcomes.filter(([, o]) => o === "duplicate").length >= 1 &&
        outcomes.some(([, o]) => o === "sent"),
    );
    expect(endpoint.to(user)).toMatchObject([{ kind: "call", id, user_id: user, event: "call.incoming", data: { from: "a" } }]);
  });

  it("skips a push to a user who is online by the time it is sent", async () => {
    const user = fresh("online");
    outcomes.length = 0;
    start(open(), {}, (userId) => userId === user).offer({
      kind: "huddle_invite",
      userId: user,
      orgId: "o1",
      envelope: envelope(fresh("h")),
      event: "huddle.invite",
    });
    await until("the push is skipped", () => outcomes.some(([kind, o]) => kind === "huddle_invite" && o === "skipped_online"));
    expect(endpoint.to(user)).toEqual([]);
  });

  it("gives a push up once PUSH_MAX_AGE_MS has passed since its offer", async () => {
    const user = fresh("dead");
    outcomes.length = 0;
    endpoint.answer = (body) => (body.user_id === user ? 503 : 200);
    start(open(), { maxAgeMs: 1_000, retryBaseMs: 100 }).offer({
      kind: "call_missed",
      userId: user,
      orgId: "o1",
      envelope: envelope(fresh("m")),
      event: "call.missed",
    });
    await until("the push is given up", () => outcomes.some(([kind, o]) => kind === "call_missed" && o === "given_up"), 10_000);
    const attempts = endpoint.to(user).length;
    // 100, 200, 400 ms (with jitter) fit in 1 s; 800 more do not.
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(outcomes.filter(([, o]) => o === "retried")).toHaveLength(attempts - 1);
  });
});

const memberStores: Array<[string, () => ConversationMembers]> = [
  ["memory", () => memoryConversationMembers()],
  [
    "redis",
    () => {
      const client = new Redis(redis.url);
      clients.push(client);
      return redisConversationMembers(client, hubKeys("pm"));
    },
  ],
  [
    "cluster",
    () => {
      const client = new Cluster(cluster.startupNodes);
      clients.push(client);
      return redisConversationMembers(client, hubKeys("pm"));
    },
  ],
];

describe.each(memberStores)("conversation members (%s)", (_name, open) => {
  it("keeps a member for the history window after their own last subscribe, while others keep subscribing", async () => {
    const members = open();
    const room = fresh("room");
    await members.remember(room, "old", 300);
    expect(await members.list(room)).toEqual(["old"]);
    // Someone subscribes every probe: the conversation is alive, but "old" has not been back.
    await until(
      "the member who left to drop out",
      async () => {
        await members.remember(room, "new", 300);
        const list = await members.list(room);
        return !list.includes("old") && list;
      },
      3_000,
    );
    expect(await members.list(room)).toEqual(["new"]);
  });
});
