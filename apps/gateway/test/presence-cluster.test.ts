import { type RedisCluster, startRedisCluster, until } from "@hub/devkit";
import { DEFAULT_PRESENCE_EVENTS, type PresenceChange } from "@hub/events";
import { type DecodedBroadcast, decodeBroadcast, type HubKeys, hubKeys, type PubSubWire } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Presence, PresenceEntry } from "../src/presence/presence.js";
import { BEATS_PER_TTL, redisPresence } from "../src/presence/redis-presence.js";

/** Short, so a dead node is noticed fast; long enough that a busy test machine never misses a heartbeat. */
const TTL_MS = 2_000;

let cluster: RedisCluster;
/** Closed after each test. */
let owned: Array<() => unknown> = [];
let run = 0;

beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});
afterEach(async () => {
  for (const close of owned.reverse()) await close();
  owned = [];
});

/** A hub of its own (key prefix) and a topic with presence. */
function nextHub(): { keys: HubKeys; topic: string; org: string } {
  const org = `pc${++run}`;
  return { keys: hubKeys(`pc${run}-${Date.now().toString(36)}`), topic: `org:${org}`, org };
}

function client(options: ConstructorParameters<typeof Cluster>[1] = {}): Cluster {
  const redis = new Cluster(cluster.startupNodes, options);
  owned.push(() => redis.disconnect());
  return redis;
}

interface Node {
  presence: Presence;
  redis: Cluster;
  logs: Array<Record<string, unknown>>;
}

/** A gateway's presence: its own Cluster client, as a gateway's `pub`. */
function node(keys: HubKeys, nodeId: string, pubsub: PubSubWire = "sharded", redis = client()): Node {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const presence = redisPresence({ redis, keys, nodeId, ttlMs: TTL_MS, pubsub, names: () => DEFAULT_PRESENCE_EVENTS, logger });
  owned.push(() => presence.close());
  return { presence, redis, logs };
}

interface Watch {
  joins: string[];
  leaves: string[];
  events: DecodedBroadcast[];
}

/** Subscribes to the topic's channel the way the gateways' pub/sub mode does; collects the announced user ids. */
async function watch(keys: HubKeys, topic: string, pubsub: PubSubWire = "sharded"): Promise<Watch> {
  const seen: Watch = { joins: [], leaves: [], events: [] };
  const collect = (_channel: Buffer, message: Buffer) => {
    const decoded = decodeBroadcast(message);
    if (!decoded) return;
    seen.events.push(decoded);
    const user = (decoded.envelope.data as PresenceChange).user_id;
    if (decoded.clientEvent === "presence.join") seen.joins.push(user);
    if (decoded.clientEvent === "presence.leave") seen.leaves.push(user);
  };
  if (pubsub === "sharded") {
    const sub = client({ shardedSubscribers: true });
    sub.on("smessageBuffer", collect);
    await sub.ssubscribe(keys.topicChannel(topic));
  } else {
    const sub = client();
    sub.on("messageBuffer", collect);
    await sub.subscribe(keys.topicChannel(topic));
  }
  return seen;
}

let sentinels = 0;

/** Announcements of one topic arrive in order: once a sentinel user's join is seen, every earlier one is. */
async function settle(seen: Watch, via: Presence, topic: string, org: string): Promise<void> {
  const entry: PresenceEntry = { topic, userId: `sentinel-${++sentinels}`, orgId: org, connectionId: `sentinel-${sentinels}` };
  await via.join(entry);
  await until(`${entry.userId}'s presence.join`, () => seen.joins.includes(entry.userId));
  await via.leave(entry);
  await until(`${entry.userId}'s presence.leave`, () => seen.leaves.includes(entry.userId));
}

const others = (users: string[]) => users.filter((user) => !user.startsWith("sentinel-"));

async function connections(presence: Presence, topic: string): Promise<Array<[string, number]>> {
  return (await presence.list(topic)).map((m) => [m.user_id, m.connections]);
}

/** Every key of the hub, on every master. */
async function storedKeys(keys: HubKeys): Promise<string[]> {
  const found: string[] = [];
  for (const server of cluster.nodes) {
    const redis = new Redis(server.url);
    try {
      if ((await redis.role())[0] === "master") found.push(...(await redis.keys(`${keys.prefix}:*`)));
    } finally {
      redis.disconnect();
    }
  }
  return found;
}

describe("presence on Redis Cluster", () => {
  it("announces a user's first connection once across nodes and the last leave once (SPUBLISH in the topic's slot)", async () => {
    const { keys, topic, org } = nextHub();
    const nodes = ["gw-a", "gw-b", "gw-c"].map((id) => node(keys, id));
    const [a, b, c] = nodes.map((n) => n.presence) as [Presence, Presence, Presence];
    const seen = await watch(keys, topic);
    const entry = (connectionId: string): PresenceEntry => ({ topic, userId: "u", orgId: org, connectionId });

    await a.join(entry("c1"));
    await b.join(entry("c2"));
    await c.join(entry("c3"));
    for (const p of [a, b, c]) expect(await connections(p, topic)).toEqual([["u", 3]]);
    const [listed] = await a.list(topic);
    await until("u's presence.join", () => seen.joins.includes("u"));
    const joined = seen.events.find((e) => e.clientEvent === "presence.join");
    expect(joined?.envelope).toMatchObject({
      type: "presence.join",
      topic,
      org_id: org,
      data: { user_id: "u", joined_at: listed?.joined_at },
    });

    await a.leave(entry("c1"));
    await b.leave(entry("c2"));
    expect(await connections(c, topic)).toEqual([["u", 1]]);
    await settle(seen, b, topic, org);
    expect(others(seen.joins)).toEqual(["u"]);
    expect(others(seen.leaves)).toEqual([]);

    await c.leave(entry("c3"));
    await until("u's presence.leave", () => seen.leaves.includes("u"));
    expect(await a.list(topic)).toEqual([]);
    await settle(seen, a, topic, org);
    expect(others(seen.joins)).toEqual(["u"]);
    expect(others(seen.leaves)).toEqual(["u"]);
  });

  it("lists the same users from every node, earliest first", async () => {
    const { keys, topic, org } = nextHub();
    const nodes = ["gw-a", "gw-b"].map((id) => node(keys, id).presence);
    for (const [i, user] of ["x", "y", "z"].entries()) {
      await nodes[i % 2]?.join({ topic, userId: user, orgId: org, connectionId: `${user}-1` });
    }
    await nodes[0]?.join({ topic, userId: "y", orgId: org, connectionId: "y-2" });
    const list = await nodes[0]?.list(topic);
    expect(list?.map((m) => [m.user_id, m.connections])).toEqual([
      ["x", 1],
      ["y", 2],
      ["z", 1],
    ]);
    expect(list?.map((m) => m.joined_at)).toEqual([...(list ?? [])].map((m) => m.joined_at).sort());
    expect(await nodes[1]?.list(topic)).toEqual(list);
  });

  it("keeps every key of a topic, and its channel, in one slot; a node's keys in another", async () => {
    const { keys, topic, org } = nextHub();
    const a = node(keys, "gw-a");
    await a.presence.join({ topic, userId: "u", orgId: org, connectionId: "c1" });
    await a.presence.join({ topic: `${topic}-other`, userId: "u", orgId: org, connectionId: "c1" });
    const slot = async (key: string) => Number(await a.redis.cluster("KEYSLOT", key));
    // The user and org indexes are written after the join (nothing announces it).
    await until("the user index", async () => (await a.redis.exists(keys.presenceUser(org, "u"))) === 1);
    const stored = await storedKeys(keys);
    const ofTopic = stored.filter((key) => key.includes(`{${keys.topicChannel(topic)}}`));
    // counts, since, the node's entries
    expect(ofTopic).toHaveLength(3);
    const topicSlot = await slot(keys.topicChannel(topic));
    for (const key of ofTopic) expect(await slot(key)).toBe(topicSlot);
    const { counts, since, entries, fence, meta } = keys.presence(topic);
    for (const key of [counts, since, entries("gw-a"), fence("gw-a"), meta]) expect(await slot(key)).toBe(topicSlot);

    const ofNode = stored.filter((key) => key.includes("{gw-a}"));
    // the registration hash, the incarnation's topics and its users (for the user and org indexes)
    expect(ofNode).toHaveLength(3);
    const nodeSlot = await slot(keys.presenceNode("gw-a").registration);
    for (const key of ofNode) expect(await slot(key)).toBe(nodeSlot);
    // And the sets of topics the incarnation holds.
    const [topics] = ofNode.filter((key) => key !== keys.presenceNode("gw-a").registration && !key.includes("}:u:"));
    expect((await a.redis.smembers(topics as string)).sort()).toEqual([topic, `${topic}-other`]);
  });

  it("removes a node that stopped heartbeating within 1.25 TTL and announces each of its users' leaves once", async () => {
    const { keys, topic, org } = nextHub();
    const [a, b] = ["gw-a", "gw-b"].map((id) => node(keys, id)) as [Node, Node];
    // Its commands fail at once once it is cut off, so it can still be closed.
    const cutOff = client({ enableOfflineQueue: false });
    await new Promise((resolve) => cutOff.once("ready", resolve));
    const doomed = node(keys, "gw-doomed", "sharded", cutOff);
    const seen = await watch(keys, topic);
    await doomed.presence.join({ topic, userId: "k", orgId: org, connectionId: "d1" });
    await doomed.presence.join({ topic, userId: "m", orgId: org, connectionId: "d2" });
    await doomed.presence.join({ topic: `${topic}-2`, userId: "k", orgId: org, connectionId: "d1" });
    await a.presence.join({ topic, userId: "m", orgId: org, connectionId: "a1" });
    await b.presence.join({ topic, userId: "z", orgId: org, connectionId: "b1" });
    expect(await connections(a.presence, topic)).toEqual([
      ["k", 1],
      ["m", 2],
      ["z", 1],
    ]);

    // Cut off from Redis: its heartbeats stop, its entries stay.
    const stoppedAt = Date.now();
    doomed.redis.disconnect();
    await until("k's presence.leave", () => seen.leaves.includes("k"), 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(TTL_MS * (1 + 1 / BEATS_PER_TTL) + 1_500);
    expect(await connections(b.presence, topic)).toEqual([
      ["m", 1],
      ["z", 1],
    ]);
    expect(await a.presence.list(`${topic}-2`)).toEqual([]);
    await settle(seen, b.presence, topic, org);
    expect(others(seen.leaves)).toEqual(["k"]);

    // One sweeper removed it; nothing of the dead node is left.
    const sweeps = [...a.logs, ...b.logs].filter((line) => line.dead_node === "gw-doomed");
    expect(sweeps).toEqual([expect.objectContaining({ users_left: 2 })]);
    expect((await a.redis.zrange(keys.presenceNodes, 0, -1)).filter((m) => m.startsWith("gw-doomed\n"))).toEqual([]);
    expect((await storedKeys(keys)).filter((key) => key.includes("gw-doomed") && !key.endsWith(":reg") && !key.includes(":f:"))).toEqual(
      [],
    );
  });

  it("a node swept while alive registers again and records its entries under a new incarnation", async () => {
    const { keys, topic, org } = nextHub();
    const sweeper = node(keys, "gw-sweeper");
    const sleepy = node(keys, "gw-sleepy");
    const seen = await watch(keys, topic);
    await sleepy.presence.join({ topic, userId: "s", orgId: org, connectionId: "s1" });
    await until("s's presence.join", () => seen.joins.includes("s"));
    const [before] = await sleepy.redis.zrange(keys.presenceNodes, 0, -1).then((all) => all.filter((m) => m.startsWith("gw-sleepy\n")));

    // As if a sweeper had claimed it and stalled a TTL ago: the node's heartbeat is refused, and
    // another sweeper takes the claim over. Whichever comes first, the node ends up present once.
    await sleepy.redis.zadd(keys.presenceNodes, -(Date.now() - 2 * TTL_MS), before as string);
    await until("sleepy registered again", async () => {
      const mine = (await sleepy.redis.zrange(keys.presenceNodes, 0, -1)).filter((m) => m.startsWith("gw-sleepy\n"));
      return mine.length === 1 && mine[0] !== before;
    });
    await until("the node to notice it was swept", () =>
      sleepy.logs.some((l) => l.msg?.toString().startsWith("this node was not registered")),
    );
    await until("s present once", async () => JSON.stringify(await connections(sweeper.presence, topic)) === JSON.stringify([["s", 1]]));
    await settle(seen, sweeper.presence, topic, org);
    // Either the sweep removed s (leave, then join again) or the replay got there first (neither).
    expect(others(seen.joins)).toHaveLength(1 + others(seen.leaves).length);

    await sleepy.presence.leave({ topic, userId: "s", orgId: org, connectionId: "s1" });
    await until("s's last presence.leave", () => others(seen.leaves).length === others(seen.joins).length);
    expect(await sweeper.presence.list(topic)).toEqual([]);
    expect(await sleepy.redis.exists(keys.presence(topic).entries("gw-sleepy"))).toBe(0);
  });

  it("announces with PUBLISH in classic mode", async () => {
    const { keys, topic, org } = nextHub();
    const a = node(keys, "gw-a", "classic");
    const b = node(keys, "gw-b", "classic");
    const seen = await watch(keys, topic, "classic");
    await a.presence.join({ topic, userId: "u", orgId: org, connectionId: "c1" });
    await b.presence.join({ topic, userId: "u", orgId: org, connectionId: "c2" });
    await a.presence.leave({ topic, userId: "u", orgId: org, connectionId: "c1" });
    await b.presence.leave({ topic, userId: "u", orgId: org, connectionId: "c2" });
    await until("u's presence.leave", () => seen.leaves.includes("u"));
    await settle(seen, a.presence, topic, org);
    expect(others(seen.joins)).toEqual(["u"]);
    expect(others(seen.leaves)).toEqual(["u"]);
  });

  it("a clean close removes the node's users at once", async () => {
    const { keys, topic, org } = nextHub();
    const steady = node(keys, "gw-steady");
    const leaving = node(keys, "gw-leaving");
    const seen = await watch(keys, topic);
    await leaving.presence.join({ topic, userId: "j", orgId: org, connectionId: "l1" });
    await leaving.presence.close();
    expect(others(await steady.presence.list(topic).then((l) => l.map((m) => m.user_id)))).toEqual([]);
    await settle(seen, steady.presence, topic, org);
    expect(others(seen.leaves)).toEqual(["j"]);
    expect((await steady.redis.zrange(keys.presenceNodes, 0, -1)).filter((m) => m.startsWith("gw-leaving\n"))).toEqual([]);
  });
});
