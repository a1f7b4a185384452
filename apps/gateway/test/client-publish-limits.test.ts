import {
  closeAllClients,
  collect,
  connectClient,
  type GatewayProcess,
  type HubClient,
  request,
  subscriptionToken,
  until,
  userToken,
} from "@hub/devkit";
import type { PublishOk } from "@hub/events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metricSum } from "./gateway-metrics.js";
import { clusterHub, type HubFixture, redisHub } from "./hub-fixture.js";

type Reply = PublishOk | { ok: false; error: { code: string; message: string; retry_after_ms?: number } };

/** A user's socket on one gateway, subscribed to the conversation, with its publishing grant. */
async function member(sub: string, topic: string, gateway: GatewayProcess) {
  const socket = await connectClient(gateway.url, await userToken({ sub, org_id: "o1" }));
  const token = await subscriptionToken({ sub, topic, org_id: "o1", pub: true });
  expect(await request(socket, "subscribe", { topic, token })).toMatchObject({ ok: true });
  return { socket, token };
}

const publish = (socket: HubClient, topic: string, token: string, event: string, data: unknown) =>
  request<Reply>(socket, "publish", { topic, event, data, token });

const LIMITS = { CLIENT_PUBLISH_RATE: "2", CLIENT_PUBLISH_BURST: "10" };

// The rate is one script on the user's slot: the same on a Redis Cluster as on one Redis.
describe.each([
  ["one Redis", () => redisHub(3, LIMITS)],
  ["a Redis Cluster", () => clusterHub(3, LIMITS)],
])("client publication limits, three gateways on %s", (_where, start) => {
  let hub: HubFixture;
  let gateways: GatewayProcess[];

  beforeAll(async () => {
    hub = await start();
    gateways = hub.gateways;
  });
  afterAll(async () => {
    await hub?.close();
  });
  afterEach(() => closeAllClients());

  it("holds one user to CLIENT_PUBLISH_RATE and its burst across every gateway, with a retry hint, and nobody else", async () => {
    const topic = "chat:rate";
    const sockets = await Promise.all(gateways.map((g) => member("alice", topic, g)));
    const started = Date.now();
    const replies = await Promise.all(
      sockets.flatMap(({ socket, token }) =>
        Array.from({ length: 10 }, (_, i) => publish(socket, topic, token, "message:send", { text: `${i}` })),
      ),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const accepted = replies.filter((r) => r.ok).length;
    // The burst, plus what the rate refilled meanwhile: not 10 per gateway.
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThanOrEqual(10 + Math.ceil(2 * elapsedS) + 1);
    const refused = replies.filter((r): r is Extract<Reply, { ok: false }> => !r.ok);
    expect(refused.length).toBe(30 - accepted);
    for (const r of refused) {
      expect(r.error.code).toBe("rate_limited");
      expect(r.error.retry_after_ms).toBeGreaterThan(0);
      expect(r.error.retry_after_ms).toBeLessThanOrEqual(500);
    }
    // Every socket of alice was refused some: the limit is the user's, not a connection's.
    const refusedOn = gateways.map((_, g) => replies.slice(g * 10, g * 10 + 10).filter((r) => !r.ok).length);
    expect(refusedOn.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    // Another user is not affected.
    const bob = await member("bob", topic, gateways[0] as GatewayProcess);
    for (let i = 0; i < 5; i++)
      expect(await publish(bob.socket, topic, bob.token, "message:send", { text: "b" })).toMatchObject({ ok: true });
    const counted = await Promise.all(gateways.map((g) => metricSum(g, "hub_limit_refusals_total", 'limit="client_publish_rate"')));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(refused.length);
  });

  it("charges nothing for refused publications", async () => {
    const topic = "chat:rate-refused";
    const dave = await member("dave", topic, gateways[2] as GatewayProcess);
    for (let i = 0; i < 15; i++) {
      // No grant, then a bad schema: refused before the rate is taken.
      expect(await publish(dave.socket, topic, "", "message:send", { text: "x" })).toMatchObject({
        ok: false,
        error: { code: "forbidden" },
      });
      expect(await publish(dave.socket, topic, dave.token, "message:send", { text: 1 })).toMatchObject({
        ok: false,
        error: { code: "invalid_event" },
      });
    }
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => publish(dave.socket, topic, dave.token, "message:send", { text: "ok" })),
    );
    expect(replies.every((r) => r.ok)).toBe(true);
  });

  it("charges an ephemeral publication a tenth of a durable one", async () => {
    const topic = "chat:rate-typing";
    const carol = await member("carol", topic, gateways[1] as GatewayProcess);
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 150 }, () => publish(carol.socket, topic, carol.token, "typing:start", {})));
    const elapsedS = (Date.now() - started) / 1000;
    const accepted = replies.filter((r) => r.ok).length;
    expect(accepted).toBeGreaterThanOrEqual(100);
    expect(accepted).toBeLessThanOrEqual(100 + Math.ceil(20 * elapsedS) + 1);
  });
});

describe("garbage publications, three gateways on one Redis", () => {
  let hub: HubFixture;
  let gateways: GatewayProcess[];

  beforeAll(async () => {
    hub = await redisHub(3, LIMITS);
    gateways = hub.gateways;
  });
  afterAll(async () => {
    await hub?.close();
  });
  afterEach(() => closeAllClients());

  it("answers 10,000 garbage publications from one socket each with its code, counts them, and delivers everybody else's messages", async () => {
    const topic = "chat:garbage";
    const mallory = await member("mallory", topic, gateways[0] as GatewayProcess);
    const alice = await member("alice2", topic, gateways[1] as GatewayProcess);
    const bob = await member("bob2", topic, gateways[2] as GatewayProcess);
    const seen = collect(bob.socket, "message:new");
    const garbage: Array<[string, Record<string, unknown>]> = [
      ["unknown_event", { event: "message:shout", data: {} }],
      ["invalid_event", { event: "message:send", data: { text: 1 } }],
      ["invalid_event", { event: "message:send", data: "text" }],
      ["payload_too_large", { event: "message:send", data: { text: "x".repeat(17_000) } }],
      ["invalid_topic", { topic: "chat:a b", event: "message:send", data: { text: "x" } }],
      ["bad_request", { event: ["message:send"], data: {} }],
    ];
    // Counted per namespace and code (the topic that does not parse is no publication of a namespace).
    const counted = async (code: string) =>
      (await Promise.all(gateways.map((g) => metricSum(g, "hub_client_publications_total", `outcome="${code}"`)))).reduce(
        (a, b) => a + b,
        0,
      );
    const codes = ["unknown_event", "invalid_event", "payload_too_large"];
    const before = new Map(await Promise.all(codes.map(async (code) => [code, await counted(code)] as const)));
    const expected = new Map<string, number>();
    const answers = new Map<string, number>();
    const sent: Array<Promise<void>> = [];
    // Alice chats meanwhile: her burst's worth of messages (CLIENT_PUBLISH_BURST), each awaited.
    const chat = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const ack = await publish(alice.socket, topic, alice.token, "message:send", { text: `m${i}` });
        expect(ack.ok).toBe(true);
        ids.push((ack as PublishOk).id);
      }
      return ids;
    })();
    for (let i = 0; i < 10_000; i++) {
      const [code, payload] = garbage[i % garbage.length] as [string, Record<string, unknown>];
      expected.set(code, (expected.get(code) ?? 0) + 1);
      sent.push(
        request<Reply>(mallory.socket, "publish", { topic, token: mallory.token, ...payload }).then((reply) => {
          const got = reply.ok ? "ok" : reply.error.code;
          answers.set(got, (answers.get(got) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(sent);
    expect(answers).toEqual(expected);
    const ids = await chat;
    await until("bob has alice's 10 messages", () => seen.length >= 10);
    expect(seen.map((m) => m.id)).toEqual(ids);
    for (const code of codes) expect((await counted(code)) - (before.get(code) ?? 0)).toBe(expected.get(code));
    // The gateway that took the garbage still serves.
    expect((await fetch(`${gateways[0]?.url}/health/ready`)).status).toBe(200);
  });
});
