import {
  closeAllClients,
  freePort,
  type GatewayProcess,
  type RedisServer,
  startGateway,
  startRedis,
  startTcpProxy,
  subscriptionToken,
  type TcpProxy,
  userToken,
} from "@hub/devkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectHub, type Envelope, type Hub, HubError } from "../src/index.js";
import { nextHubEvent, record, type TopicRecord } from "./recorder.js";

// Chat through the SDK: users on two gateways over one Redis, a publication whose ack is lost, a
// publish made while offline, typing indicators, refusals. Gateway 1 runs on a fixed port so a test
// can stop it and start it again where its clients look for it.
let redis: RedisServer;
let gateway1: GatewayProcess;
let gateway2: GatewayProcess;
let port1: number;
let run = 0;
const hubs: Hub[] = [];
const proxies: TcpProxy[] = [];

/** Gateway 2 limits client publications tightly, for the rate-limit test (per user: the other tests stay below it). */
const RATE = { CLIENT_PUBLISH_RATE: "5", CLIENT_PUBLISH_BURST: "5" };
const startNode1 = () => startGateway({ REDIS_URL: redis.url, PORT: String(port1), HUB_NODE_ID: "chat-gw-1" });
const url1 = () => `http://127.0.0.1:${port1}`;
const url2 = () => gateway2.url;
/** A fresh conversation per test. */
const nextConversation = () => `chat:c${++run}-${Date.now().toString(36)}`;

interface Chatter {
  hub: Hub;
  topic: TopicRecord;
}

/** A user's tab: connected to `url`, subscribed to the conversation with a subscription token. */
async function join(user: string, url: string, conversation: string): Promise<Chatter> {
  const hub = connectHub({
    url,
    token: await userToken({ sub: user, org_id: "o1" }),
    socketOptions: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 500 },
  });
  hubs.push(hub);
  const topic = record(hub, conversation, { token: await subscriptionToken({ sub: user, topic: conversation, org_id: "o1", pub: true }) });
  await topic.subscribed.until(`${user} subscribed`, (s) => s.length === 1);
  return { hub, topic };
}

const messages = (chatter: Chatter) => chatter.topic.events.items.filter((e) => e.event === "message:new").map((e) => e.envelope);
const texts = (chatter: Chatter) => messages(chatter).map((e) => (e.data as { text?: string }).text);
const typing = (chatter: Chatter) =>
  chatter.topic.events.items.filter((e) => e.event.startsWith("typing:")).map((e) => `${e.event} ${e.envelope.sender_id}`);
const sees = (chatter: Chatter, text: string) => chatter.topic.events.until(`"${text}"`, () => texts(chatter).includes(text), 30_000);

beforeAll(async () => {
  redis = await startRedis();
  port1 = await freePort();
  [gateway1, gateway2] = await Promise.all([startNode1(), startGateway({ REDIS_URL: redis.url, HUB_NODE_ID: "chat-gw-2", ...RATE })]);
});

afterEach(async () => {
  for (const hub of hubs.splice(0)) hub.close();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  closeAllClients();
});

afterAll(async () => {
  await Promise.all([gateway1?.stop(), gateway2?.stop()]);
  await redis?.stop();
});

describe("chat through @hub/client", () => {
  it("two users on two gateways: every message once, in order, on both, with sender_id and offsets", async () => {
    const conversation = nextConversation();
    const alice = await join("alice", url1(), conversation);
    const bob = await join("bob", url2(), conversation);

    const sent: Array<{ text: string; id: string; offset: number | undefined }> = [];
    for (let i = 1; i <= 8; i++) {
      const [from, name] = i % 2 === 1 ? [alice, "alice"] : [bob, "bob"];
      const text = `${name} ${i}`;
      const ack = await from.hub.publish(conversation, "message:send", { text });
      expect(ack).toMatchObject({ ok: true, offset: i, epoch: expect.any(String) });
      expect(ack.duplicate).toBeUndefined();
      sent.push({ text, id: ack.id, offset: ack.offset });
    }
    await sees(alice, "bob 8");
    await sees(bob, "bob 8");
    for (const chatter of [alice, bob]) {
      const seen = messages(chatter);
      expect(seen.map((e) => ({ text: (e.data as { text: string }).text, id: e.id, offset: e.offset }))).toEqual(sent);
      expect(seen.map((e) => e.sender_id)).toEqual(sent.map((s) => s.text.split(" ")[0]));
      expect(seen.every((e: Envelope) => e.type === "message:new" && e.topic === conversation)).toBe(true);
    }
    // Presence under seed 003's names reaches the conversation too.
    expect(
      alice.topic.events.items.some((e) => e.event === "user:online" && (e.envelope.data as { user_id: string }).user_id === "bob"),
    ).toBe(true);
  });

  it("a publish made while disconnected goes out after the reconnect, once; the resubscribe (with its token) recovers the rest", async () => {
    const conversation = nextConversation();
    const alice = await join("carol", url1(), conversation);
    const bob = await join("dave", url2(), conversation);
    await alice.hub.publish(conversation, "message:send", { text: "before" });
    await sees(bob, "before");

    const down = nextHubEvent(alice.hub, "disconnect");
    await gateway1.stop();
    await down;
    const away = alice.hub.publish(conversation, "message:send", { text: "written offline" });
    await bob.hub.publish(conversation, "message:send", { text: "meanwhile" });
    gateway1 = await startNode1();

    const ack = await away;
    await sees(bob, "written offline");
    await sees(alice, "written offline");
    expect(texts(bob)).toEqual(["before", "meanwhile", "written offline"]);
    expect(texts(alice)).toEqual(["before", "meanwhile", "written offline"]);
    expect(messages(bob).at(-1)?.id).toBe(ack.id);
    // The chat topic was resubscribed with its subscription token, from the last offset: recovered.
    await alice.topic.subscribed.until("the resubscribe", (s) => s.length === 2);
    expect(alice.topic.subscribed.items[1]).toMatchObject({ recovered: true });
    expect(alice.topic.errors.items).toEqual([]);
  });

  it("an ack lost in a disconnect: the retry after the reconnect carries the same id, the hub answers duplicate, nobody sees it twice", async () => {
    const conversation = nextConversation();
    const proxyPort = await freePort();
    let proxy = await startTcpProxy({ target: { port: port1 }, port: proxyPort });
    proxies.push(proxy);
    const alice = await join("erin", `http://127.0.0.1:${proxyPort}`, conversation);
    const bob = await join("frank", url2(), conversation);

    // Every byte between Alice and her gateway takes 1 s each way: the hub has her publication (and
    // Bob gets it) a second before her ack would reach her. Then her connection dies with the ack in it.
    proxy.delay(1_000);
    const published = alice.hub.publish(conversation, "message:send", { text: "ack lost" });
    await sees(bob, "ack lost");
    const firstId = messages(bob).at(-1)?.id;
    proxy.blackhole();
    const down = nextHubEvent(alice.hub, "disconnect");
    await proxy.close();
    await down;
    proxy = await startTcpProxy({ target: { port: port1 }, port: proxyPort });
    proxies.push(proxy);

    const ack = await published;
    expect(ack).toMatchObject({ ok: true, id: firstId, duplicate: true });
    await alice.hub.publish(conversation, "message:send", { text: "after" });
    await sees(bob, "after");
    await sees(alice, "after");
    expect(texts(bob)).toEqual(["ack lost", "after"]);
    expect(texts(alice)).toEqual(["ack lost", "after"]);
  });

  it("rate_limited publications are retried after retry_after_ms and each delivered once", async () => {
    const conversation = nextConversation();
    const sender = await join("gina", url2(), conversation);
    const reader = await join("hank", url1(), conversation);
    const wanted = Array.from({ length: 9 }, (_, i) => `burst ${i + 1}`);
    // The burst is 5 at 5 per second: the last four are refused first, then go through.
    const started = Date.now();
    const acks = await Promise.all(wanted.map((text) => sender.hub.publish(conversation, "message:send", { text })));
    expect(new Set(acks.map((a) => a.id)).size).toBe(9);
    // The ninth is allowed 4 x 200 ms after the burst: the refused ones waited for their retry_after_ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    await reader.topic.events.until("nine messages", () => messages(reader).length === 9);
    expect([...texts(reader)].sort()).toEqual([...wanted].sort());
    expect(
      messages(reader)
        .map((e) => e.id)
        .sort(),
    ).toEqual(acks.map((a) => a.id).sort());
  });

  it("typing reaches the other user, not the sender's other tab; start() is throttled, stop() sends typing:stop", async () => {
    const conversation = nextConversation();
    const alice = await join("ivy", url1(), conversation);
    const aliceOtherTab = await join("ivy", url2(), conversation);
    const bob = await join("jack", url2(), conversation);

    const indicator = alice.hub.typing(conversation);
    indicator.start();
    indicator.start();
    indicator.start();
    await bob.topic.events.until("typing:start", () => typing(bob).length === 1);
    indicator.stop();
    await bob.topic.events.until("typing:stop", () => typing(bob).length === 2);
    expect(typing(bob)).toEqual(["typing:start ivy", "typing:stop ivy"]);

    // A message published after the typing events reaches the other tab through the same gateway
    // as Bob's: had the typing events been sent to the tab, they would have arrived before it.
    await alice.hub.publish(conversation, "message:send", { text: "done typing" });
    await sees(aliceOtherTab, "done typing");
    expect(typing(aliceOtherTab)).toEqual([]);
    expect(typing(alice)).toEqual([]);
    indicator.close();
  });

  it("retries a publication whose subscription-token source failed once, as unavailable", async () => {
    const conversation = nextConversation();
    const bob = await join("bob", url2(), conversation);
    const hub = connectHub({
      url: url1(),
      token: await userToken({ sub: "alice", org_id: "o1" }),
      socketOptions: { transports: ["websocket"] },
    });
    hubs.push(hub);
    const grant = await subscriptionToken({ sub: "alice", topic: conversation, org_id: "o1", pub: true });
    let asked = 0;
    // The first subscribe gets the token; the first publication's ask fails (the backend answered 503).
    const topic = record(hub, conversation, { token: async () => (++asked === 2 ? Promise.reject(new Error("backend 503")) : grant) });
    await topic.subscribed.until("alice subscribed", (s) => s.length === 1);
    const ack = await hub.publish(conversation, "message:send", { text: "after a 503" });
    expect(ack).toMatchObject({ ok: true, offset: 1 });
    expect(asked).toBeGreaterThanOrEqual(3);
    await sees(bob, "after a 503");
  });

  it("closing the hub rejects a publication still waiting for the connection with closed", async () => {
    const conversation = nextConversation();
    const alice = await join("lee", url1(), conversation);
    const down = nextHubEvent(alice.hub, "disconnect");
    await gateway1.stop();
    await down;
    const waiting = alice.hub.publish(conversation, "message:send", { text: "never sent" });
    alice.hub.close();
    await expect(waiting).rejects.toMatchObject({ name: "HubError", code: "closed" });
    gateway1 = await startNode1();
  });

  it("refusals reject at once with the contract's code: unknown_event, invalid_event, forbidden", async () => {
    const conversation = nextConversation();
    const alice = await join("kim", url1(), conversation);
    const started = Date.now();
    const unknown = alice.hub.publish(conversation, "message:shout", { text: "hi" });
    await expect(unknown).rejects.toBeInstanceOf(HubError);
    await expect(unknown).rejects.toMatchObject({ code: "unknown_event" });
    await expect(alice.hub.publish(conversation, "message:send", { txt: "typo" })).rejects.toMatchObject({ code: "invalid_event" });
    // Another conversation, without a grant for it.
    await expect(alice.hub.publish(nextConversation(), "message:send", { text: "hi" })).rejects.toMatchObject({ code: "forbidden" });
    // Well within one retry delay and the request timeout: nothing was retried.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
