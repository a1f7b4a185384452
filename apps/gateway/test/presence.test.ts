import {
  closeAllClients,
  collect,
  connectClient,
  type GatewayProcess,
  type HubClient,
  type RedisCluster,
  type RedisServer,
  request,
  serviceToken,
  startGateway,
  startRedis,
  startRedisCluster,
  until,
  userToken,
} from "@hub/devkit";
import type { Envelope, PresenceChange, PresenceOk } from "@hub/events";
import { loadConfig } from "@hub/runtime";
import { type HubKeys, hubKeys, type RedisClient } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BEATS_PER_TTL } from "../src/presence/redis-presence.js";

/** Short, so a dead gateway is noticed fast; long enough that a busy test machine never misses a heartbeat. */
const TTL_MS = 3_000;

let run = 0;
let sentinels = 0;

/** A fresh presence topic (`org:` has presence) and its org, so no test sees another's users. */
function nextTopic(): { topic: string; org: string } {
  const org = `pr${++run}-${Date.now().toString(36)}`;
  return { topic: `org:${org}`, org };
}

async function member(url: string, sub: string, org: string, topic: string): Promise<HubClient> {
  const client = await connectClient(url, await userToken({ sub, org_id: org }));
  expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: true });
  return client;
}

interface Watcher {
  client: HubClient;
  joins: Array<Envelope<PresenceChange>>;
  leaves: Array<Envelope<PresenceChange>>;
}

/** A service subscribed to the topic: it sees the announcements and is never present itself. */
async function watcher(url: string, topic: string): Promise<Watcher> {
  const client = await connectClient(url, await serviceToken());
  const joins = collect(client, "presence.join") as Array<Envelope<PresenceChange>>;
  const leaves = collect(client, "presence.leave") as Array<Envelope<PresenceChange>>;
  expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: true });
  return { client, joins, leaves };
}

/** A node's registrations in the presence registry (`{node id}\n{incarnation}`). */
async function registrations(redis: RedisClient, keys: HubKeys, nodeId: string): Promise<string[]> {
  return (await redis.zrange(keys.presenceNodes, 0, -1)).filter((member) => member.startsWith(`${nodeId}\n`));
}

const about = (events: Array<Envelope<PresenceChange>>, user: string) => events.filter((e) => e.data.user_id === user);

function presenceOf(client: HubClient, topic: string): Promise<PresenceOk> {
  return request<PresenceOk>(client, "presence", { topic });
}

/** Polls the presence list until `user` has `connections` (0: absent). */
async function untilConnections(client: HubClient, topic: string, user: string, connections: number): Promise<PresenceOk> {
  return until(`${user} with ${connections} connection(s) on ${topic}`, async () => {
    const list = await presenceOf(client, topic);
    return (list.users.find((u) => u.user_id === user)?.connections ?? 0) === connections && list;
  });
}

/**
 * The announcements of one topic reach a node in the order they were made: once a sentinel user's
 * `presence.join` is in, everything announced before it is in too.
 */
async function settle(watch: Watcher, url: string, org: string, topic: string): Promise<void> {
  const sub = `sentinel-${++sentinels}`;
  const client = await member(url, sub, org, topic);
  await until(`${sub}'s presence.join`, () => about(watch.joins, sub).length > 0);
  client.close();
}

/** Join, leave and list semantics every engine shares; `nodes()` are the hub's gateway URLs (one on the memory engine). */
function presenceSemantics(nodes: () => string[]): void {
  const node = (i: number) => nodes()[i % nodes().length] as string;

  it("announces a user's first connection once, counts every connection, and announces only the last one leaving", async () => {
    const { topic, org } = nextTopic();
    const watch = await watcher(node(0), topic);
    const first = await member(node(0), "u", org, topic);
    const joined = await until("u's presence.join", () => about(watch.joins, "u")[0]);
    expect(joined).toEqual({
      id: expect.any(String),
      type: "presence.join",
      topic,
      org_id: org,
      data: { user_id: "u", joined_at: expect.any(Number) },
      ts: expect.any(Number),
    });

    const second = await member(node(1), "u", org, topic);
    const third = await member(node(2), "u", org, topic);
    await untilConnections(watch.client, topic, "u", 3);
    expect(await presenceOf(third, topic)).toEqual({
      ok: true,
      topic,
      users: [{ user_id: "u", connections: 3, joined_at: joined.data.joined_at }],
    });

    first.close();
    await untilConnections(watch.client, topic, "u", 2);
    expect(await request(second, "unsubscribe", { topic })).toMatchObject({ ok: true });
    await untilConnections(watch.client, topic, "u", 1);
    await settle(watch, node(1), org, topic);
    expect(about(watch.joins, "u")).toHaveLength(1);
    expect(about(watch.leaves, "u")).toEqual([]);

    third.close();
    const left = await until("u's presence.leave", () => about(watch.leaves, "u")[0]);
    expect(left).toEqual({
      id: expect.any(String),
      type: "presence.leave",
      topic,
      org_id: org,
      data: { user_id: "u" },
      ts: expect.any(Number),
    });
    expect((await presenceOf(watch.client, topic)).users.map((u) => u.user_id)).not.toContain("u");
    await settle(watch, node(2), org, topic);
    expect(about(watch.joins, "u")).toHaveLength(1);
    expect(about(watch.leaves, "u")).toHaveLength(1);
  });

  it("lists the users present on the topic, the same from every node, earliest first; services are never present", async () => {
    const { topic, org } = nextTopic();
    const watch = await watcher(node(0), topic);
    const clients: HubClient[] = [];
    for (const [i, sub] of ["a", "b", "c"].entries()) clients.push(await member(node(i), sub, org, topic));
    await until("three presence.join", () => watch.joins.length === 3);
    // Another service on the topic: it may subscribe and query, and is not announced or listed.
    const service = await connectClient(node(1), await serviceToken("another-backend"));
    expect(await request(service, "subscribe", { topic })).toMatchObject({ ok: true });

    const expected = ["a", "b", "c"].map((sub) => ({
      user_id: sub,
      connections: 1,
      joined_at: about(watch.joins, sub)[0]?.data.joined_at,
    }));
    for (const client of [...clients, watch.client, service]) {
      expect(await presenceOf(client, topic)).toEqual({ ok: true, topic, users: expected });
    }
    await settle(watch, node(2), org, topic);
    expect(watch.joins.map((e) => e.data.user_id).slice(0, 3)).toEqual(["a", "b", "c"]);
    expect(watch.joins.map((e) => e.data.user_id).filter((sub) => !sub.startsWith("sentinel-"))).toHaveLength(3);
  });

  it("unsubscribing and disconnecting both leave presence", async () => {
    const { topic, org } = nextTopic();
    const watch = await watcher(node(2), topic);
    const a = await member(node(0), "a", org, topic);
    const b = await member(node(1), "b", org, topic);
    await until("a and b joined", () => watch.joins.length === 2);

    expect(await request(a, "unsubscribe", { topic })).toMatchObject({ ok: true });
    await until("a's presence.leave", () => about(watch.leaves, "a").length === 1);
    expect((await presenceOf(a, topic)).users.map((u) => u.user_id)).toEqual(["b"]);
    // Unsubscribing again from a topic one is not in changes nothing.
    expect(await request(a, "unsubscribe", { topic })).toMatchObject({ ok: true });

    b.close();
    await until("b's presence.leave", () => about(watch.leaves, "b").length === 1);
    expect(await presenceOf(a, topic)).toEqual({ ok: true, topic, users: [] });
    await settle(watch, node(0), org, topic);
    expect(watch.leaves.map((e) => e.data.user_id).filter((sub) => !sub.startsWith("sentinel-"))).toEqual(["a", "b"]);
  });

  it("authorizes the presence request like subscribe and refuses namespaces without presence", async () => {
    const { org } = nextTopic();
    const client = await connectClient(node(0), await userToken({ sub: "u", org_id: org }));
    const refused = async (payload: unknown) => ((await request(client, "presence", payload)) as { error: { code: string } }).error;

    expect(await refused({ topic: "org:someone-else" })).toMatchObject({ code: "forbidden" });
    expect(await refused({ topic: "inhouse:someone-else" })).toMatchObject({ code: "forbidden" });
    expect(await refused({ topic: "nowhere:1" })).toMatchObject({ code: "unknown_namespace" });
    for (const topic of ["", "org", `org:${org}:extra`, "org:a b", "Org:1"]) {
      expect(await refused({ topic })).toMatchObject({ code: "invalid_topic" });
    }
    for (const payload of [{}, { topic: 42 }, "org:x", [`org:${org}`], null]) {
      expect(await refused(payload)).toMatchObject({ code: "bad_request" });
    }
    expect(await refused({ topic: "tournament:cup" })).toEqual({ code: "bad_request", message: expect.stringMatching(/presence/) });
    expect(await refused({ topic: "notifications:u" })).toEqual({ code: "bad_request", message: expect.stringMatching(/presence/) });

    expect(await presenceOf(client, `inhouse:${org}`)).toEqual({ ok: true, topic: `inhouse:${org}`, users: [] });
    const service = await connectClient(node(0), await serviceToken());
    expect(await presenceOf(service, "org:anyone")).toEqual({ ok: true, topic: "org:anyone", users: [] });
  });
}

interface DeadGatewayContext {
  /** The hub's three steady gateways. */
  gateways(): GatewayProcess[];
  /** Starts one more gateway of the hub. */
  start(nodeId: string): Promise<GatewayProcess>;
  /** A client on the hub's Redis. */
  inspect(): RedisClient;
  keys: HubKeys;
}

/** A gateway killed outright: its users leave within the TTL, each announced once, and nothing of it is left in Redis. */
function deadGatewaySweep({ gateways, start, inspect, keys }: DeadGatewayContext): void {
  it("a gateway killed with SIGKILL loses its users' presence within the TTL, announced once on every node", async () => {
    const doomed = await start("gw-doomed");
    const [one, two, three] = gateways().map((g) => g.url) as [string, string, string];
    const { topic, org } = nextTopic();
    const watches = [await watcher(one, topic), await watcher(two, topic)];
    await member(doomed.url, "k", org, topic);
    await member(doomed.url, "m", org, topic);
    await member(one, "m", org, topic);
    await member(three, "z", org, topic);
    const watch = watches[0] as Watcher;
    await untilConnections(watch.client, topic, "m", 2);
    await untilConnections(watch.client, topic, "k", 1);

    const killedAt = Date.now();
    await doomed.kill();
    for (const w of watches) await until("k's presence.leave", () => about(w.leaves, "k").length > 0, 30_000);
    expect(Date.now() - killedAt).toBeLessThan(30_000);

    const users = (await presenceOf(watch.client, topic)).users.map((u) => [u.user_id, u.connections]);
    expect(users.sort()).toEqual([
      ["m", 1],
      ["z", 1],
    ]);
    expect(await registrations(inspect(), keys, "gw-doomed")).toEqual([]);
    expect(await inspect().exists(keys.presence(topic).entries("gw-doomed"))).toBe(0);
    // Every node sweeps; the one that removed the node announced, the others found nothing to do.
    const sweeps = () =>
      gateways()
        .flatMap((g) => g.logs)
        .filter((l) => l.dead_node === "gw-doomed");
    await until("the sweep's log line", () => sweeps().length > 0);
    for (const w of watches) {
      await settle(w, three, org, topic);
      expect(about(w.leaves, "k")).toHaveLength(1);
      expect(about(w.leaves, "m")).toEqual([]);
      expect(about(w.leaves, "z")).toEqual([]);
    }
    expect(sweeps()).toEqual([expect.objectContaining({ users_left: 1 })]);
  }, 60_000);
}

it("by default, a dead gateway's users leave presence within 30 s", () => {
  const config = loadConfig({ JWT_SECRET: "user-secret", INTERNAL_JWT_SECRET: "internal-secret" }, "gateway");
  expect(config.presenceTtlMs * (1 + 1 / BEATS_PER_TTL)).toBeLessThanOrEqual(30_000);
});

describe("presence (memory engine, one node)", () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterAll(async () => {
    await gateway?.stop();
  });
  afterEach(() => closeAllClients());

  presenceSemantics(() => [gateway.url]);
});

describe("presence (redis engine, three nodes)", () => {
  let redis: RedisServer;
  let gateways: GatewayProcess[] = [];
  let inspect: Redis;
  const keys = hubKeys();
  const gatewayEnv = (nodeId: string, extra: Record<string, string> = {}) => ({
    REDIS_URL: redis.url,
    HUB_NODE_ID: nodeId,
    PRESENCE_TTL_MS: String(TTL_MS),
    ...extra,
  });

  beforeAll(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url);
    gateways = await Promise.all([1, 2, 3].map((i) => startGateway(gatewayEnv(`gw-${i}`))));
  });
  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all(gateways.map((g) => g.stop()));
    await redis?.stop();
  });
  afterEach(() => closeAllClients());

  presenceSemantics(() => gateways.map((g) => g.url));

  deadGatewaySweep({
    gateways: () => gateways,
    start: (nodeId) => startGateway(gatewayEnv(nodeId)),
    inspect: () => inspect,
    keys,
  });

  it("a gateway paused for longer than the TTL is taken for dead, and records its users again when it resumes", async () => {
    const sleepy = await startGateway(gatewayEnv("gw-sleepy"));
    try {
      const { topic, org } = nextTopic();
      const watch = await watcher(gateways[0]?.url as string, topic);
      const s = await member(sleepy.url, "s", org, topic);
      await until("s's presence.join", () => about(watch.joins, "s").length === 1);

      sleepy.child.kill("SIGSTOP");
      try {
        await until("s's presence.leave", () => about(watch.leaves, "s").length === 1, 30_000);
        expect(await presenceOf(watch.client, topic)).toEqual({ ok: true, topic, users: [] });
      } finally {
        sleepy.child.kill("SIGCONT");
      }
      // Its connection survived the pause (well within Socket.IO's ping timeout): it is present again.
      await until("s's second presence.join", () => about(watch.joins, "s").length === 2);
      await untilConnections(watch.client, topic, "s", 1);
      expect(await request(s, "unsubscribe", { topic })).toMatchObject({ ok: true });
      await until("s's second presence.leave", () => about(watch.leaves, "s").length === 2);
      expect(await presenceOf(watch.client, topic)).toEqual({ ok: true, topic, users: [] });
    } finally {
      await sleepy.stop();
    }
  }, 60_000);

  it("a gateway restarted under the same HUB_NODE_ID first removes what its previous run left; a clean stop removes its users at once", async () => {
    // A hub of its own whose TTL is far longer than this test: no sweep can be what removes the users.
    const env = (nodeId: string) => gatewayEnv(nodeId, { HUB_KEY_PREFIX: "restart", PRESENCE_TTL_MS: "20000" });
    const restartKeys = hubKeys("restart");
    const steady = await startGateway(env("steady"));
    let phoenix = await startGateway(env("phoenix"));
    try {
      const { topic, org } = nextTopic();
      const watch = await watcher(steady.url, topic);
      await member(phoenix.url, "k", org, topic);
      await until("k's presence.join", () => about(watch.joins, "k").length === 1);

      const killedAt = Date.now();
      await phoenix.kill();
      expect(await inspect.hexists(restartKeys.presence(topic).counts, "k")).toBe(1);
      phoenix = await startGateway(env("phoenix"));
      await until("k's presence.leave", () => about(watch.leaves, "k").length === 1);
      expect(Date.now() - killedAt).toBeLessThan(20_000);
      expect(await presenceOf(watch.client, topic)).toEqual({ ok: true, topic, users: [] });

      await member(phoenix.url, "j", org, topic);
      await until("j's presence.join", () => about(watch.joins, "j").length === 1);
      expect(await registrations(inspect, restartKeys, "phoenix")).toHaveLength(1);
      const stoppedAt = Date.now();
      expect(await phoenix.stop()).toBe(0);
      await until("j's presence.leave", () => about(watch.leaves, "j").length === 1);
      expect(Date.now() - stoppedAt).toBeLessThan(20_000);
      expect(await registrations(inspect, restartKeys, "phoenix")).toEqual([]);
      expect(await inspect.exists(restartKeys.presence(topic).entries("phoenix"))).toBe(0);
      expect(await presenceOf(watch.client, topic)).toEqual({ ok: true, topic, users: [] });
    } finally {
      await Promise.all([steady.stop(), phoenix.stop()]);
    }
  }, 60_000);
});

describe("presence (redis engine on Redis Cluster, sharded pub/sub, three nodes)", () => {
  let cluster: RedisCluster;
  let gateways: GatewayProcess[] = [];
  let inspect: Cluster;
  const keys = hubKeys();
  const gatewayEnv = (nodeId: string) => ({
    REDIS_CLUSTER_NODES: cluster.seeds,
    HUB_PUBSUB: "sharded",
    HUB_NODE_ID: nodeId,
    PRESENCE_TTL_MS: String(TTL_MS),
  });

  beforeAll(async () => {
    cluster = await startRedisCluster();
    inspect = new Cluster(cluster.startupNodes);
    gateways = await Promise.all([1, 2, 3].map((i) => startGateway(gatewayEnv(`gw-${i}`))));
  });
  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all(gateways.map((g) => g.stop()));
    await cluster?.stop();
  });
  afterEach(() => closeAllClients());

  presenceSemantics(() => gateways.map((g) => g.url));
  deadGatewaySweep({
    gateways: () => gateways,
    start: (nodeId) => startGateway(gatewayEnv(nodeId)),
    inspect: () => inspect,
    keys,
  });
});

describe("presence (redis engine) when Redis restarts empty", () => {
  let redis: RedisServer | undefined;
  const gateways: GatewayProcess[] = [];
  afterAll(async () => {
    closeAllClients();
    await Promise.all(gateways.map((g) => g.stop()));
    await redis?.stop();
  });

  it("answers unavailable while Redis is away; once it is back the reconnected users are present once each", async () => {
    redis = await startRedis();
    const port = redis.port;
    for (const nodeId of ["gw-a", "gw-b"]) {
      gateways.push(await startGateway({ REDIS_URL: redis.url, HUB_NODE_ID: nodeId, PRESENCE_TTL_MS: String(TTL_MS) }));
    }
    const { topic, org } = nextTopic();
    const urls = gateways.map((g) => g.url);
    const a = await member(urls[0] as string, "a", org, topic);
    const b = await member(urls[1] as string, "b", org, topic);
    await untilConnections(a, topic, "b", 1);
    const dropped = [a, b].map((client) => new Promise<string>((resolve) => client.once("disconnect", resolve)));

    // A request caught in flight by the crash waits for Redis (and times out here); the next ones are refused at once.
    const ask = (client: HubClient) =>
      request<PresenceOk | { ok: false; error: { code: string } }>(client, "presence", { topic }).catch(() => undefined);
    await redis.kill();
    await until("presence to answer unavailable", async () => {
      const reply = await ask(a);
      return reply?.ok === false && reply.error.code === "unavailable";
    });
    redis = await startRedis({ port });
    // The nodes missed broadcasts while Redis was away: they close their connections so clients recover.
    expect(await Promise.all(dropped)).toEqual(["transport close", "transport close"]);
    const again = [await member(urls[1] as string, "a", org, topic), await member(urls[0] as string, "b", org, topic)];
    const listed = await until(
      "a and b present again",
      async () => {
        const reply = await ask(again[0] as HubClient);
        return reply?.ok === true && reply.users.length === 2 && reply;
      },
      20_000,
    );
    expect(listed.users.map((u) => [u.user_id, u.connections]).sort()).toEqual([
      ["a", 1],
      ["b", 1],
    ]);
    for (const gateway of gateways) expect(gateway.child.exitCode).toBeNull();
  });
});
