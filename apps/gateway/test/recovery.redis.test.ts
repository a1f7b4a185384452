import { closeAllClients, collect, connectClient, nextEvent, request, userToken } from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import { EMPTY_EPOCH, type SubscribeOk } from "@hub/events";
import { hubKeys } from "@hub/store";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type HubFixture, redisHub } from "./hub-fixture.js";
import { type RecoveryFixture, recoverySuite } from "./recovery-suite.js";

recoverySuite("redis engine, two gateway nodes", () => twoNodes("classic"));
// Sharded pub/sub on one Redis: each gateway SSUBSCRIBEs only to the rooms it has members in (or catches up on).
recoverySuite("redis engine, sharded pub/sub, two gateway nodes", () => twoNodes("sharded"));

async function twoNodes(pubsub: "classic" | "sharded"): Promise<RecoveryFixture> {
  const hub = await redisHub(2, { HUB_PUBSUB: pubsub });
  const producer = new Redis(hub.redis.url);
  const emitter = createHubEmitter({ redis: producer, pubsub });
  return {
    ...hub,
    async publishAll(events) {
      // Un-awaited publishes on one connection keep their order.
      await Promise.all(events.map((event) => emitter.publish(event)));
    },
    async close() {
      producer.disconnect();
      await hub.close();
    },
  };
}

describe("recovery when Redis loses data or connections", () => {
  let hub: HubFixture & { redis: { url: string } };
  let admin: Redis;

  beforeAll(async () => {
    // The churn test sends requests as fast as they are answered.
    hub = await redisHub(2, { SUBSCRIBE_RATE_PER_SECOND: "100000", REQUEST_RATE_PER_SECOND: "100000" });
    admin = new Redis(hub.redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await hub?.close();
  });
  afterEach(() => closeAllClients());

  it("FLUSHALL: a returning client gets recovered: false and a new epoch; offsets start over in it", async () => {
    const token = await userToken({ sub: "u1", org_id: "flush" });
    const a = await connectClient((hub.gateways[0] as { url: string }).url, token);
    const first = nextEvent(a, "roster.player_hired", "f2");
    await request(a, "subscribe", { topic: "org:flush" });
    for (const id of ["f1", "f2"]) await hub.publish({ id, type: "roster.player_hired", org_id: "flush", payload: {} });
    const last = await first;
    a.close();

    await admin.flushall();
    const b = await connectClient((hub.gateways[1] as { url: string }).url, token);
    const seen = collect(b, "roster.player_hired");
    const ack = await request<SubscribeOk>(b, "subscribe", { topic: "org:flush", since: { offset: last.offset, epoch: last.epoch } });
    // The history is gone and reading creates none: the empty epoch until the next publish makes one.
    expect(ack).toMatchObject({ ok: true, recovered: false, epoch: EMPTY_EPOCH, offset: 0 });

    const next = nextEvent(b, "roster.player_hired", "f3");
    await hub.publish({ id: "f3", type: "roster.player_hired", org_id: "flush", payload: {} });
    const f3 = await next;
    expect(f3).toMatchObject({ offset: 1 });
    expect([EMPTY_EPOCH, last.epoch]).not.toContain(f3.epoch);
    expect(seen.map((e) => e.id)).toEqual(["f3"]);
  });

  it("reads write nothing: subscribe and unsubscribe churn over 300 fresh topics leaves no key in Redis", async () => {
    const client = await connectClient((hub.gateways[0] as { url: string }).url, await userToken({ sub: "churn", org_id: "churn" }));
    const before = new Set(await admin.keys("*"));
    for (let i = 0; i < 300; i++) {
      const topic = `tournament:churn-${i}`;
      expect(await request(client, "subscribe", { topic, since: { offset: 3, epoch: "e" } })).toMatchObject({
        ok: true,
        recovered: false,
        epoch: EMPTY_EPOCH,
      });
      expect(await request(client, "presence", { topic: "org:churn" })).toMatchObject({ ok: true });
      expect(await request(client, "unsubscribe", { topic })).toMatchObject({ ok: true });
    }
    const [, historyKeys] = await admin.scan(
      0,
      "MATCH",
      `${hubKeys().history("tournament:churn-").stream.slice(0, -"#}:s".length)}*`,
      "COUNT",
      10_000,
    );
    expect(historyKeys).toEqual([]);
    // Nothing about the churned topics; the gateways' own background keys (heartbeats, sweeps) may come and go meanwhile.
    const added = (await admin.keys("*")).filter((key) => !before.has(key));
    expect(added.filter((key) => key.includes("churn"))).toEqual([]);
  });

  it("a gateway whose Redis subscription dropped closes its connections; clients recover what it missed", async () => {
    const token = await userToken({ sub: "u1", org_id: "gap" });
    const url = (hub.gateways[0] as { url: string }).url;
    const a = await connectClient(url, token);
    await request(a, "subscribe", { topic: "org:gap" });
    const first = nextEvent(a, "roster.player_hired", "g1");
    await hub.publish({ id: "g1", type: "roster.player_hired", org_id: "gap", payload: {} });
    const last = await first;

    const closed = new Promise<string>((resolve) => a.once("disconnect", resolve));
    // Every gateway's pub/sub connections drop; broadcasts published meanwhile are lost to them.
    await admin.client("KILL", "TYPE", "pubsub");
    for (const id of ["g2", "g3"]) await hub.publish({ id, type: "roster.player_hired", org_id: "gap", payload: {} });
    expect(await closed).toBe("transport close");

    const b = await connectClient(url, token);
    const seen = collect(b, "roster.player_hired");
    const ack = await request<SubscribeOk>(b, "subscribe", { topic: "org:gap", since: { offset: last.offset, epoch: last.epoch } });
    expect(ack).toMatchObject({ ok: true, recovered: true, offset: (last.offset as number) + 2 });
    expect(seen.map((e) => e.id)).toEqual(["g2", "g3"]);
  });
});
