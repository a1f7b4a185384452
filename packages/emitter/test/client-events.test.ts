// hub.consumeClientEvents against real gateways: users publish on chat topics through two gateway
// processes, backends consume the client-event streams through consumer groups, on one Redis and
// on a Redis Cluster. Tests share their Redis and tell their events apart by topic (a new group
// reads every entry still in the streams).
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  type RedisCluster,
  type RedisServer,
  request,
  spawnHubProcess,
  startGateway,
  startRedis,
  startRedisCluster,
  subscriptionToken,
  until,
  userToken,
} from "@hub/devkit";
import { type PublishOk, roomOf, TopicRegistry } from "@hub/events";
import { hubKeys, type RedisClient } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientEvent, type ClientEventConsumerError, createHubEmitter, type HubEmitter } from "../src/index.js";

const ORG = "42";
// The default publication rate (20/s per user) would slow the tests down.
const GATEWAY_ENV = { CLIENT_PUBLISH_RATE: "10000", CLIENT_PUBLISH_BURST: "10000" };
const keys = hubKeys();
const chatNamespace = new TopicRegistry().namespace("chat");
let topics = 0;
const freshTopic = () => `chat:c${++topics}-${Date.now().toString(36)}`;
/** The bucket stream a chat topic's publications of ORG go to. */
const streamOf = (topic: string) => keys.clientEventStream(roomOf(topic, chatNamespace as NonNullable<typeof chatNamespace>, ORG));

interface Publication {
  ack: PublishOk;
  sub: string;
  text: string;
}

/** Users u1 and u2 of ORG, on different gateways, subscribed to `topic` with subscription tokens that also grant publishing. */
async function joinChat(gateways: readonly GatewayProcess[], topic: string) {
  const users = await Promise.all(
    ["u1", "u2"].map(async (sub, i) => {
      const gateway = gateways[i % gateways.length] as GatewayProcess;
      const socket = await connectClient(gateway.url, await userToken({ sub, org_id: ORG }));
      const token = await subscriptionToken({ sub, topic, org_id: ORG, pub: true });
      expect(await request(socket, "subscribe", { topic, token })).toMatchObject({ ok: true });
      return { sub, socket, token };
    }),
  );
  const user = (i: number) => users[i % users.length] as (typeof users)[number];
  return {
    users,
    /** A durable `message:send`, resolved with its ack. */
    async send(i: number, text: string): Promise<Publication> {
      const { sub, socket, token } = user(i);
      const ack = await request<PublishOk>(socket, "publish", { topic, event: "message:send", data: { text }, token });
      expect(ack).toMatchObject({ ok: true, offset: expect.any(Number) });
      return { ack, sub, text };
    },
    /** An ephemeral `typing:start`, resolved once the other user got it. */
    async typing(i: number): Promise<void> {
      const other = user(i + 1).socket as unknown as { once(event: string, fn: () => void): void };
      const delivered = new Promise<void>((resolve) => other.once("typing:start", resolve));
      const { socket, token } = user(i);
      expect(await request(socket, "publish", { topic, event: "typing:start", data: {}, token })).toMatchObject({ ok: true });
      await delivered;
    },
  };
}

/** A handler recording the events of some topics, and a way to await how many it got. */
function recorder(of: readonly string[]) {
  const events: ClientEvent[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  return {
    events,
    handler(event: ClientEvent) {
      if (!of.includes(event.topic)) return;
      events.push(event);
      for (const waiter of waiters.filter((w) => events.length >= w.count)) waiter.resolve();
    },
    received(count: number): Promise<void> {
      if (events.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/** XINFO GROUPS of one stream, as objects. */
async function groupsOf(redis: RedisClient, stream: string): Promise<Array<Record<string, unknown>>> {
  const reply = (await redis.xinfo("GROUPS", stream)) as unknown[][];
  return reply.map((flat) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]])));
}

/** Waits until `group` has read every entry of `stream` and acknowledged them all: nothing more can be delivered to it. */
async function caughtUp(redis: RedisClient, stream: string, group: string): Promise<void> {
  await until(`${group} caught up on ${stream}`, async () => {
    const info = (await groupsOf(redis, stream)).find((g) => g.name === group);
    return info?.lag === 0 && info.pending === 0;
  });
}

/** What a publication must arrive as. */
const expected = (topic: string, publications: readonly Publication[]) =>
  publications.map(({ ack, sub, text }) => ({
    id: ack.id,
    topic,
    org_id: ORG,
    event: "message:new",
    data: { text },
    sender_id: sub,
    sender_org_id: ORG,
    ts: expect.any(Number),
    offset: ack.offset,
    epoch: ack.epoch,
    namespace: "chat",
    streamId: expect.stringMatching(/^\d+-\d+$/),
  }));

describe("consumeClientEvents on one Redis", () => {
  let server: RedisServer;
  let redis: Redis;
  let hub: HubEmitter;
  let gateways: GatewayProcess[];

  beforeAll(async () => {
    server = await startRedis();
    gateways = await Promise.all([1, 2].map((n) => startGateway({ ...GATEWAY_ENV, REDIS_URL: server.url, HUB_NODE_ID: `gw-${n}` })));
    redis = new Redis(server.url);
    hub = createHubEmitter({ redis });
  });

  afterAll(async () => {
    closeAllClients();
    await Promise.all((gateways ?? []).map((g) => g.stop()));
    await redis?.quit();
    await server?.stop();
  });

  it("delivers every durable publication to a group exactly once, with its envelope, offset and sender, and no ephemeral one", async () => {
    const topic = freshTopic();
    const chat = await joinChat(gateways, topic);
    const seen = recorder([topic]);
    const errors: ClientEventConsumerError[] = [];
    const consumer = hub.consumeClientEvents({ group: "archive", handler: seen.handler, onError: (e) => errors.push(e) });

    const published: Publication[] = [];
    for (let i = 0; i < 10; i++) {
      published.push(await chat.send(i, `hello ${i}`));
      if (i % 3 === 0) await chat.typing(i);
    }
    await seen.received(published.length);
    await caughtUp(redis, streamOf(topic), "archive");
    await consumer.close();

    expect(seen.events).toEqual(expected(topic, published));
    expect(seen.events.map((e) => e.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(new Set(seen.events.map((e) => e.sender_id))).toEqual(new Set(["u1", "u2"]));
    expect(errors).toEqual([]);
    expect(consumer.stats).toMatchObject({ failed: 0, malformed: 0, claimed: 0 });
    expect(consumer.stats.handled).toBeGreaterThanOrEqual(10);
  });

  it("gives every event to each of two groups", async () => {
    const topic = freshTopic();
    const chat = await joinChat(gateways, topic);
    const [first, second] = [recorder([topic]), recorder([topic])];
    const consumers = [
      hub.consumeClientEvents({ group: "search-index", handler: first.handler }),
      hub.consumeClientEvents({ group: "notifier", handler: second.handler }),
    ];
    const published: Publication[] = [];
    for (let i = 0; i < 6; i++) published.push(await chat.send(i, `m${i}`));
    await Promise.all([first.received(6), second.received(6)]);
    await Promise.all(["search-index", "notifier"].map((group) => caughtUp(redis, streamOf(topic), group)));
    await Promise.all(consumers.map((c) => c.close()));

    expect(first.events).toEqual(expected(topic, published));
    expect(second.events).toEqual(expected(topic, published));
  });

  it("hands the pending events of a consumer killed mid-batch to another consumer of the group after claimAfterMs", async () => {
    const topic = freshTopic();
    const stream = streamOf(topic);
    const chat = await joinChat(gateways, topic);
    const published: Publication[] = [];
    for (let i = 0; i < 20; i++) published.push(await chat.send(i, `m${i}`));
    const ids = published.map((p) => p.ack.id);

    // It reads all 20 in one batch, handles 3 and hangs in the handler of the 4th.
    const child = spawnHubProcess("packages/emitter/test/client-event-consumer-child.ts", {
      PATH: process.env.PATH,
      REDIS_URL: server.url,
      GROUP: "billing",
      CONSUMER: "doomed",
      TOPIC: topic,
      HANDLE_FIRST: "3",
    });
    const stuck = await child.waitForLog((line) => line.msg === "stuck");
    const [count, , , owners] = (await redis.xpending(stream, "billing")) as [number, string, string, Array<[string, string]>];
    expect(count).toBe(17);
    expect(owners).toEqual([["doomed", "17"]]);
    await child.kill();
    const handledByChild = child.logs.filter((line) => line.msg === "handled").map((line) => line.id);
    expect(handledByChild).toEqual(ids.slice(0, 3));
    expect(stuck.id).toBe(ids[3]);

    const rescued = recorder([topic]);
    const rescuer = hub.consumeClientEvents({ group: "billing", consumer: "rescuer", claimAfterMs: 400, handler: rescued.handler });
    await rescued.received(17);
    await caughtUp(redis, stream, "billing");
    await rescuer.close();

    // Each publication handled by exactly one of them, and acknowledged: nothing is pending.
    expect(rescued.events.map((e) => e.id)).toEqual(ids.slice(3));
    expect(new Set([...handledByChild, ...rescued.events.map((e) => e.id)])).toEqual(new Set(ids));
    expect(rescuer.stats.claimed).toBeGreaterThanOrEqual(17);
    expect(((await redis.xpending(stream, "billing")) as unknown[])[0]).toBe(0);
  });

  it("retries an event whose handler threw through the claim path, and acknowledges it once it succeeds", async () => {
    const topic = freshTopic();
    const chat = await joinChat(gateways, topic);
    const seen = recorder([topic]);
    const failures: Array<{ code: string; id: string | undefined }> = [];
    let attempts = 0;
    const consumer = hub.consumeClientEvents({
      group: "flaky",
      claimAfterMs: 300,
      handler: (event) => {
        if (event.topic === topic && ++attempts === 1) throw new Error("database down");
        seen.handler(event);
      },
      onError: (error, event) => failures.push({ code: error.code, id: event?.id }),
    });
    const { ack } = await chat.send(0, "retry me");
    await seen.received(1);
    await caughtUp(redis, streamOf(topic), "flaky");
    await consumer.close();

    expect(seen.events.map((e) => e.id)).toEqual([ack.id]);
    expect(failures).toEqual([{ code: "handler_failed", id: ack.id }]);
    expect(consumer.stats).toMatchObject({ failed: 1 });
    expect(consumer.stats.claimed).toBeGreaterThanOrEqual(1);
  });

  it("gives up an event whose handler always throws after maxDeliveries, reporting it, and goes on with the others", async () => {
    const topic = freshTopic();
    const chat = await joinChat(gateways, topic);
    const seen = recorder([topic]);
    const poisoned: Array<{ code: string; id: string | undefined }> = [];
    let attempts = 0;
    const { ack: poison } = await chat.send(0, "poison");
    const consumer = hub.consumeClientEvents({
      group: "poison",
      claimAfterMs: 100,
      maxDeliveries: 3,
      handler: (event) => {
        if (event.id === poison.id) {
          attempts++;
          throw new Error("always fails");
        }
        seen.handler(event);
      },
      onError: (error, event) => {
        if (error.code === "poison_entry") poisoned.push({ code: error.code, id: event?.id });
      },
    });
    const { ack: good } = await chat.send(1, "fine");
    await seen.received(1);
    await until("the poison event given up", () => poisoned.length === 1);
    await caughtUp(redis, streamOf(topic), "poison");
    await consumer.close();
    expect(poisoned).toEqual([{ code: "poison_entry", id: poison.id }]);
    expect(attempts).toBe(3);
    expect(seen.events.map((e) => e.id)).toEqual([good.id]);
    expect(consumer.stats).toMatchObject({ poisoned: 1, failed: 3 });
  });

  it("stops on its AbortSignal and releases its blocking connection", async () => {
    const controller = new AbortController();
    const consumer = hub.consumeClientEvents({ group: "short-lived", handler: () => {}, signal: controller.signal });
    const name = (client: string) => client.split(" ").find((field) => field.startsWith("cmd="));
    await until("the blocking read", async () =>
      ((await redis.client("LIST")) as string).split("\n").some((c) => name(c) === "cmd=xreadgroup"),
    );
    controller.abort();
    await consumer.closed;
    await until("the blocking connection closed", async () =>
      ((await redis.client("LIST")) as string).split("\n").every((c) => name(c) !== "cmd=xreadgroup"),
    );
  });

  it("keeps consuming through lost connections and a deleted stream (its group made again)", async () => {
    const topic = freshTopic();
    const stream = streamOf(topic);
    const chat = await joinChat(gateways, topic);
    const backend = new Redis(server.url, { connectionName: "backend" });
    backend.on("error", () => {}); // its connection is killed on purpose below
    const seen = recorder([topic]);
    const errors: ClientEventConsumerError[] = [];
    const consumer = createHubEmitter({ redis: backend }).consumeClientEvents({
      group: "resilient",
      handler: seen.handler,
      onError: (error) => errors.push(error),
    });
    const first = await chat.send(0, "one");
    await seen.received(1);

    // Every connection of the backend (its own and the consumer's blocking one) drops.
    const backendIds = async () =>
      ((await redis.client("LIST")) as string)
        .split("\n")
        .filter((line) => line.includes(" name=backend "))
        .map((line) => /^id=(\d+)/.exec(line)?.[1] as string);
    const dropped = await backendIds();
    expect(dropped).toHaveLength(2);
    for (const id of dropped) await redis.client("KILL", "ID", id);
    const second = await chat.send(1, "two");
    await seen.received(2);

    // The stream goes away with its groups: reading fails (NOGROUP) until the group is made again.
    await redis.del(stream);
    await until("the consumer reports NOGROUP", () => errors.some((e) => e.code === "redis_error" && /NOGROUP/.test(e.message)));
    const third = await chat.send(0, "three");
    await seen.received(3);
    await consumer.close();
    await backend.quit();

    expect(seen.events.map((e) => e.id)).toEqual([first, second, third].map((p) => p.ack.id));
    expect(errors.every((e) => e.code === "redis_error")).toBe(true);
  });

  // Last in this Redis: the groups made after it would read its malformed entries too.
  it("acknowledges and reports a malformed entry, never handing it to the handler, and handles the entries around it", async () => {
    const topic = freshTopic();
    const stream = streamOf(topic);
    const chat = await joinChat(gateways, topic);
    const before = await chat.send(0, "before");
    const notJson = await redis.xadd(stream, "*", "e", "{not json", "o", "1", "p", "x");
    const noEnvelope = await redis.xadd(stream, "*", "o", "2", "p", "x");
    const after = await chat.send(1, "after");

    const order: string[] = [];
    const seen = recorder([topic]);
    const consumer = hub.consumeClientEvents({
      group: "audit",
      handler: (event) => {
        if (event.topic === topic) order.push(`event ${event.id}`);
        seen.handler(event);
      },
      onError: (error, event) => {
        expect(event).toBeUndefined();
        order.push(`${error.code} ${error.streamId}`);
      },
    });
    await seen.received(2);
    await caughtUp(redis, stream, "audit");
    await consumer.close();

    expect(order).toEqual([
      `event ${before.ack.id}`,
      `malformed_entry ${notJson}`,
      `malformed_entry ${noEnvelope}`,
      `event ${after.ack.id}`,
    ]);
    expect(consumer.stats.malformed).toBe(2);
  });
});

describe("consumeClientEvents on Redis Cluster", () => {
  let cluster: RedisCluster;
  let redis: Cluster;
  let hub: HubEmitter;
  let gateways: GatewayProcess[];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    gateways = await Promise.all(
      [1, 2].map((n) => startGateway({ ...GATEWAY_ENV, REDIS_CLUSTER_NODES: cluster.seeds, HUB_NODE_ID: `gw-${n}` })),
    );
    redis = new Cluster(cluster.startupNodes);
    hub = createHubEmitter({ redis });
  });

  afterAll(async () => {
    closeAllClients();
    await Promise.all((gateways ?? []).map((g) => g.stop()));
    await redis?.quit();
    await cluster?.stop();
  });

  it("delivers every durable publication of topics on several slots to a group exactly once", async () => {
    // Three topics whose bucket streams are not all on one master.
    const picked: string[] = [];
    const masters = new Set<number>();
    while (picked.length < 3 || masters.size < 2) {
      const topic = freshTopic();
      const port = (await cluster.masterOf(streamOf(topic))).port;
      if (picked.length === 2 && masters.size === 1 && masters.has(port)) continue;
      picked.push(topic);
      masters.add(port);
    }
    const chats = await Promise.all(picked.map(async (topic) => ({ topic, chat: await joinChat(gateways, topic) })));
    const streams = new Set(chats.map(({ topic }) => streamOf(topic)));
    const seen = recorder(chats.map((c) => c.topic));
    const consumer = hub.consumeClientEvents({ group: "archive", handler: seen.handler });

    const published = new Map<string, Publication[]>(chats.map(({ topic }) => [topic, []]));
    for (let i = 0; i < 4; i++) {
      for (const { topic, chat } of chats) published.get(topic)?.push(await chat.send(i, `${topic} ${i}`));
      await chats[i % chats.length]?.chat.typing(i);
    }
    await seen.received(12);
    await Promise.all([...streams].map((s) => caughtUp(redis, s, "archive")));
    await consumer.close();

    for (const { topic } of chats) {
      expect(seen.events.filter((e) => e.topic === topic)).toEqual(expected(topic, published.get(topic) ?? []));
    }
    expect(seen.events).toHaveLength(12);
  });
});

describe("consumeClientEvents under slow batches and claims (entries written as the gateways write them)", () => {
  let server: RedisServer;
  let redis: Redis;
  const stream = hubKeys().clientEvents("chat", 0);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  async function add(n: number, prefix: string) {
    for (let i = 0; i < n; i++) {
      const envelope = {
        id: `${prefix}-${i}`,
        type: "message:new",
        topic: "chat:x",
        org_id: "1",
        sender_id: "u",
        sender_org_id: "1",
        ts: Date.now(),
        data: { i },
      };
      await redis.xadd(stream, "*", "e", JSON.stringify(envelope), "o", String(i + 1), "p", "epoch");
    }
  }

  it("keeps a long batch's unhandled events its own: another consumer claims none of them", async () => {
    await redis.del(stream);
    const hub = createHubEmitter({ redis });
    await add(40, "a");
    const seen = new Map<string, string[]>();
    const handler = (who: string) => async (event: ClientEvent) => {
      seen.set(event.id, [...(seen.get(event.id) ?? []), who]);
      await sleep(30);
    };
    const a = hub.consumeClientEvents({ group: "slow", namespaces: ["chat"], consumer: "A", claimAfterMs: 300, handler: handler("A") });
    await until("A started", () => seen.size > 0);
    const b = hub.consumeClientEvents({ group: "slow", namespaces: ["chat"], consumer: "B", claimAfterMs: 300, handler: handler("B") });
    await until("every event handled", () => seen.size === 40 && a.stats.handled + b.stats.handled >= 40);
    await Promise.all([a.close(), b.close()]);
    expect([...seen].filter(([, who]) => who.length > 1)).toEqual([]);
    expect(((await redis.call("XPENDING", stream, "slow")) as unknown[])[0]).toBe(0);
  });

  it("never runs the handler twice at once on one bucket, claimed events included", async () => {
    await redis.del(stream);
    const hub = createHubEmitter({ redis });
    await redis.xgroup("CREATE", stream, "lanes", "$", "MKSTREAM");
    await add(5, "dead");
    // A consumer reads them and dies without acknowledging.
    await redis.call("XREADGROUP", "GROUP", "lanes", "dead", "COUNT", 100, "STREAMS", stream, ">");
    await add(20, "live");
    let running = 0;
    let most = 0;
    const handled: string[] = [];
    const c = hub.consumeClientEvents({
      group: "lanes",
      namespaces: ["chat"],
      claimAfterMs: 300,
      handler: async (event) => {
        running++;
        most = Math.max(most, running);
        await sleep(40);
        handled.push(event.id);
        running--;
      },
    });
    await until("all 25 handled", () => handled.length === 25, 30_000);
    await c.close();
    expect(most).toBe(1);
    expect(new Set(handled).size).toBe(25);
    // A stopped consumer with nothing pending leaves the group; the dead one, holding nothing now, stays listed.
    const consumers = (await redis.call("XINFO", "CONSUMERS", stream, "lanes")) as unknown[][];
    expect(consumers.map((info) => info[1])).toEqual(["dead"]);
  });
});
