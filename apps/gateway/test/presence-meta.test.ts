import {
  closeAllClients,
  collect,
  connectClient,
  type GatewayProcess,
  type HubClient,
  request,
  serviceToken,
  startGateway,
  until,
  userToken,
} from "@hub/devkit";
import type { Envelope, Failure, PresenceMetaChange, PresenceOk, PresenceUpdateOk } from "@hub/events";
import { hubKeys, type RedisClient } from "@hub/store";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metricOn } from "./gateway-metrics.js";
import { clusterHub, type HubFixture, memoryHub, redisHub } from "./hub-fixture.js";

/** Short, so a dead gateway is noticed fast; long enough that a busy test machine never misses a heartbeat. */
const TTL_MS = 3_000;

let run = 0;

/** A fresh org (and its `org:` topic, which has presence), so no test sees another's users. */
function nextOrg(): { org: string; topic: string } {
  const org = `pm${++run}-${Date.now().toString(36)}`;
  return { org, topic: `org:${org}` };
}

async function member(url: string, sub: string, org: string, ...topics: string[]): Promise<HubClient> {
  const client = await connectClient(url, await userToken({ sub, org_id: org }));
  for (const topic of topics) expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: true });
  return client;
}

function setMeta(client: HubClient, topic: string, meta: unknown): Promise<PresenceUpdateOk | Failure> {
  return request<PresenceUpdateOk | Failure>(client, "presence.update", { topic, meta });
}

function presenceOf(client: HubClient, topic: string): Promise<PresenceOk> {
  return request<PresenceOk>(client, "presence", { topic });
}

async function getJson(url: string, path: string, token?: string | null): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token ?? (await serviceToken())}`;
  const res = await fetch(`${url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** `presence.update` semantics every engine shares; `nodes()` are the hub's gateway URLs (one on memory). */
function metaSemantics(nodes: () => string[]): void {
  const node = (i: number) => nodes()[i % nodes().length] as string;

  it("a connection's metadata set on one gateway is seen by a member on another, in presence answers and presence.update events", async () => {
    const { org, topic } = nextOrg();
    const setter = await member(node(0), "alice", org, topic);
    const observer = await member(node(1), "bob", org, topic);
    const updates = collect(observer, "presence.update") as Array<Envelope<PresenceMetaChange>>;

    const meta = { device: "web", focus: true, audio: "muted", video: false, screen: null };
    expect(await setMeta(setter, topic, meta)).toEqual({ ok: true, topic, changed: true });
    const event = await until("alice's presence.update", () => updates[0]);
    expect(event).toEqual({
      id: expect.any(String),
      type: "presence.update",
      topic,
      org_id: org,
      data: { user_id: "alice", meta },
      ts: expect.any(Number),
    });
    const answer = await presenceOf(observer, topic);
    expect(answer.users.find((u) => u.user_id === "alice")).toEqual({
      user_id: "alice",
      connections: 1,
      joined_at: expect.any(Number),
      meta,
    });
    expect(answer.users.find((u) => u.user_id === "bob")).not.toHaveProperty("meta");

    // The same metadata again changes nothing and announces nothing; the next change is announced.
    expect(await setMeta(setter, topic, meta)).toEqual({ ok: true, topic, changed: false });
    const next = { ...meta, audio: "on" };
    expect(await setMeta(setter, topic, next)).toEqual({ ok: true, topic, changed: true });
    await until("alice's second presence.update", () => updates.length >= 2);
    expect(updates.map((u) => u.data.meta)).toEqual([meta, next]);
  });

  it("refuses metadata over 1 KiB (payload_too_large), on a topic the connection is not on, and where nobody is present", async () => {
    const { org, topic } = nextOrg();
    const client = await member(node(0), "carol", org, topic);
    // `{"x":"…"}` is 8 bytes around the string.
    expect(await setMeta(client, topic, { x: "a".repeat(1024 - 8) })).toEqual({ ok: true, topic, changed: true });
    expect(await setMeta(client, topic, { x: "a".repeat(1024 - 8 + 1) })).toMatchObject({
      ok: false,
      error: { code: "payload_too_large" },
    });
    expect(await setMeta(client, topic, ["not", "an", "object"])).toMatchObject({ ok: false, error: { code: "bad_request" } });

    const other = nextOrg();
    const stranger = await member(node(0), "dave", other.org);
    expect(await setMeta(stranger, other.topic, { device: "ios" })).toMatchObject({
      ok: false,
      error: { code: "forbidden", message: expect.stringContaining("subscribe to") },
    });
    expect(await request(stranger, "subscribe", { topic: "tournament:pm" })).toMatchObject({ ok: true });
    expect(await setMeta(stranger, "tournament:pm", { device: "ios" })).toMatchObject({
      ok: false,
      error: { code: "bad_request", message: expect.stringContaining("does not track presence") },
    });
    const service = await connectClient(node(0), await serviceToken());
    expect(await request(service, "subscribe", { topic })).toMatchObject({ ok: true });
    expect(await setMeta(service, topic, { device: "server" })).toMatchObject({ ok: false, error: { code: "forbidden" } });
    // The oversized one was not stored.
    expect((await presenceOf(service, topic)).users[0]?.meta).toEqual({ x: "a".repeat(1024 - 8) });
  });

  it("a user's metadata is their most recently updated connection's, and goes with that connection", async () => {
    const { org, topic } = nextOrg();
    const observer = await member(node(1), "observer", org, topic);
    const phone = await member(node(0), "erin", org, topic);
    const laptop = await member(node(1), "erin", org, topic);
    expect(await setMeta(laptop, topic, { device: "laptop" })).toMatchObject({ changed: true });
    expect(await setMeta(phone, topic, { device: "phone" })).toMatchObject({ changed: true });
    const erin = async () => (await presenceOf(observer, topic)).users.find((u) => u.user_id === "erin");
    expect(await erin()).toMatchObject({ connections: 2, meta: { device: "phone" } });

    phone.close();
    // Nothing announces a connection leaving while the user stays.
    expect(await until("erin's phone gone", async () => ((await erin())?.connections === 1 ? erin() : undefined))).toMatchObject({
      meta: { device: "laptop" },
    });
    laptop.close();
    await until("erin gone", async () => (await erin()) === undefined);
    const back = await member(node(0), "erin", org, topic);
    await until("erin back", async () => (await erin()) !== undefined);
    expect(await erin()).not.toHaveProperty("meta");
    back.close();
  });
}

/** The HTTP presence queries on a running hub; `nodes()` are its gateway URLs. */
function httpQueries(nodes: () => string[]): void {
  const node = (i: number) => nodes()[i % nodes().length] as string;
  const online = (url: string, org: string, user: string) =>
    getJson(url, `/api/v1/presence/${user}?org_id=${encodeURIComponent(org)}`).then((r) => r.body);
  const orgUsers = async (url: string, org: string, query = "") =>
    (await getJson(url, `/api/v1/presence?org_id=${encodeURIComponent(org)}${query}`)).body as {
      org_id: string;
      users: Array<{ user_id: string; since: number }>;
      truncated: boolean;
    };

  it("answers whether a user is online, on which topics since when, and the online users of an org only", async () => {
    const { org, topic } = nextOrg();
    const other = nextOrg();
    const queue = `inhouse:${org}`;
    const frank = await member(node(0), "frank", org, topic, queue);
    await member(node(1), "grace", org, topic);
    // The same user id in another org is another user.
    await member(node(0), "frank-2", other.org, other.topic);
    await member(node(1), "grace", other.org, other.topic);

    const answer = await until("frank online on two topics", async () => {
      const body = await online(node(1), org, "frank");
      return (body.topics as unknown[]).length === 2 && body;
    });
    expect(answer).toEqual({
      user_id: "frank",
      org_id: org,
      online: true,
      since: expect.any(Number),
      topics: expect.arrayContaining([
        { topic, since: expect.any(Number) },
        { topic: queue, since: expect.any(Number) },
      ]),
    });
    expect(answer.since).toBe(Math.min(...(answer.topics as Array<{ since: number }>).map((t) => t.since)));
    expect(await online(node(0), org, "nobody")).toEqual({ user_id: "nobody", org_id: org, online: false, topics: [] });
    expect(await online(node(0), org, "frank-2")).toMatchObject({ online: false });

    const users = await until("both users of the org", async () => {
      const body = await orgUsers(node(0), org);
      return body.users.length === 2 && body;
    });
    expect(users).toEqual({
      org_id: org,
      users: expect.arrayContaining([
        { user_id: "frank", since: expect.any(Number) },
        { user_id: "grace", since: expect.any(Number) },
      ]),
      truncated: false,
    });
    const limited = await orgUsers(node(1), org, "&limit=1");
    expect(limited.users).toHaveLength(1);
    expect(limited.truncated).toBe(true);
    await until("the other org's two users", async () => (await orgUsers(node(0), other.org)).users.length === 2);
    expect((await orgUsers(node(0), other.org)).users.map((u) => u.user_id).sort()).toEqual(["frank-2", "grace"]);

    // Unsubscribing takes a topic away; disconnecting takes the user offline.
    expect(await request(frank, "unsubscribe", { topic: queue })).toMatchObject({ ok: true });
    await until("frank on one topic", async () => ((await online(node(1), org, "frank")).topics as unknown[]).length === 1);
    frank.close();
    await until("frank offline", async () => (await online(node(1), org, "frank")).online === false);
    expect((await orgUsers(node(0), org)).users.map((u) => u.user_id)).toEqual(["grace"]);
  });

  it("takes a service token and an org_id", async () => {
    expect((await getJson(node(0), "/api/v1/presence/u?org_id=o", null)).status).toBe(401);
    expect((await getJson(node(0), "/api/v1/presence?org_id=o", null)).status).toBe(401);
    const user = await userToken({ sub: "u", org_id: "o" });
    expect((await getJson(node(0), "/api/v1/presence/u?org_id=o", user)).status).toBe(403);
    expect(await getJson(node(0), "/api/v1/presence/u")).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
    expect(await getJson(node(0), "/api/v1/presence")).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
    expect((await getJson(node(0), "/api/v1/presence?org_id=o&limit=10001")).status).toBe(400);
    expect((await getJson(node(0), "/api/v1/presence?org_id=o&limit=0")).status).toBe(400);
  });
}

describe("presence metadata and queries (memory engine)", () => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await memoryHub();
  });
  afterAll(async () => {
    await hub?.close();
  });
  afterEach(() => closeAllClients());

  metaSemantics(() => hub.gateways.map((g) => g.url));
  httpQueries(() => hub.gateways.map((g) => g.url));

  it("counts presence.update outcomes in hub_presence_updates_total", async () => {
    const gateway = hub.gateways[0] as GatewayProcess;
    const count = (outcome: string) => metricOn(gateway, `hub_presence_updates_total{outcome="${outcome}"}`);
    const before = { updated: await count("updated"), unchanged: await count("unchanged"), tooLarge: await count("payload_too_large") };
    const { org, topic } = nextOrg();
    const client = await member(gateway.url, "kate", org, topic);
    await setMeta(client, topic, { device: "web" });
    await setMeta(client, topic, { device: "web" });
    await setMeta(client, topic, { x: "a".repeat(2000) });
    expect(await count("updated")).toBe(before.updated + 1);
    expect(await count("unchanged")).toBe(before.unchanged + 1);
    expect(await count("payload_too_large")).toBe(before.tooLarge + 1);
  });
});

describe("presence metadata and queries (redis engine, two gateways)", () => {
  let hub: HubFixture & { redis: { url: string } };
  beforeAll(async () => {
    hub = await redisHub(2, { PRESENCE_TTL_MS: String(TTL_MS) });
  });
  afterAll(async () => {
    await hub?.close();
  });
  afterEach(() => closeAllClients());

  metaSemantics(() => hub.gateways.map((g) => g.url));
  httpQueries(() => hub.gateways.map((g) => g.url));

  it("a gateway paused past the TTL records its connections' metadata and index entries again when it resumes", async () => {
    const sleepy = await startGateway({ ...hub.redisEnv, HUB_NODE_ID: "gw-sleepy", PRESENCE_TTL_MS: String(TTL_MS) });
    try {
      const { org, topic } = nextOrg();
      const survivor = hub.gateways[0]?.url as string;
      const observer = await member(survivor, "observer", org, topic);
      const leaves = collect(observer, "presence.leave") as Array<Envelope<PresenceMetaChange>>;
      const sleeper = await member(sleepy.url, "liam", org, topic);
      expect(await setMeta(sleeper, topic, { device: "desktop" })).toMatchObject({ changed: true });
      const liamOnline = async () => (await getJson(survivor, `/api/v1/presence/liam?org_id=${org}`)).body.online;
      await until("liam online", async () => (await liamOnline()) === true);

      sleepy.child.kill("SIGSTOP");
      try {
        await until("liam's presence.leave", () => leaves.some((e) => e.data.user_id === "liam"), 30_000);
        expect(await liamOnline()).toBe(false);
      } finally {
        sleepy.child.kill("SIGCONT");
      }
      const liam = await until("liam present again, with his metadata", async () => {
        const found = (await presenceOf(observer, topic)).users.find((u) => u.user_id === "liam");
        return found?.meta !== undefined && found;
      });
      expect(liam.meta).toEqual({ device: "desktop" });
      await until("liam online again", async () => (await liamOnline()) === true);
    } finally {
      await sleepy.stop();
    }
  }, 60_000);

  it("a gateway killed with SIGKILL: its users leave the HTTP answers after the sweep, and its share of the indexes is gone", async () => {
    const { org, topic } = nextOrg();
    const doomed: GatewayProcess = await startGateway({ ...hub.redisEnv, HUB_NODE_ID: "gw-doomed", PRESENCE_TTL_MS: String(TTL_MS) });
    const redis: RedisClient = new Redis(hub.redis.url);
    try {
      const survivor = hub.gateways[0]?.url as string;
      await member(doomed.url, "henry", org, topic);
      await member(survivor, "iris", org, topic);
      await member(doomed.url, "iris", org, topic);
      await until("henry online", async () => (await getJson(survivor, `/api/v1/presence/henry?org_id=${org}`)).body.online === true);
      await until(
        "both users listed",
        async () => ((await getJson(survivor, `/api/v1/presence?org_id=${org}`)).body.users as unknown[]).length === 2,
      );

      await doomed.kill();
      await until(
        "henry offline after the sweep",
        async () => (await getJson(survivor, `/api/v1/presence/henry?org_id=${org}`)).body.online === false,
      );
      const listed = (await getJson(survivor, `/api/v1/presence?org_id=${org}`)).body.users as Array<{ user_id: string }>;
      expect(listed.map((u) => u.user_id)).toEqual(["iris"]);
      expect(await getJson(survivor, `/api/v1/presence/iris?org_id=${org}`)).toMatchObject({ body: { online: true, topics: [{ topic }] } });

      // Nothing of the dead node is left in the indexes (the hub's keys use the default prefix).
      const keys = hubKeys("hub");
      expect(await redis.exists(keys.presenceUser(org, "henry"))).toBe(0);
      const members = await redis.zrange(keys.presenceOrg(org), 0, -1);
      expect(members.filter((m) => m.includes("gw-doomed"))).toEqual([]);
      expect(Object.keys(await redis.hgetall(keys.presenceUser(org, "iris"))).filter((f) => f.includes("gw-doomed"))).toEqual([]);
      expect(await redis.keys("*pr-node:{gw-doomed}:u:*")).toEqual([]);
    } finally {
      redis.disconnect();
      await doomed.stop();
    }
  });
});

describe("presence metadata and queries (redis engine on Redis Cluster, two gateways)", () => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await clusterHub(2, { PRESENCE_TTL_MS: String(TTL_MS) });
  });
  afterAll(async () => {
    await hub?.close();
  });
  afterEach(() => closeAllClients());

  metaSemantics(() => hub.gateways.map((g) => g.url));
  httpQueries(() => hub.gateways.map((g) => g.url));
});
