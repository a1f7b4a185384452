import { closeAllClients, collect, connectClient, type HubClient, nextEvent, request, serviceToken, userToken } from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type HubFixture, redisHub } from "./hub-fixture.js";

/** Three gateway processes on one Redis act as one hub. */
describe("three gateway nodes", () => {
  let hub: HubFixture;
  const urls = () => hub.gateways.map((g) => g.url);

  beforeAll(async () => {
    hub = await redisHub(3);
  });
  afterAll(async () => {
    await hub?.close();
  });
  afterEach(() => closeAllClients());

  /** `perNode` clients of org o1 on each node, subscribed to `topic`. */
  async function spread(topic: string, perNode: number): Promise<HubClient[]> {
    const clients = await Promise.all(
      urls().flatMap((url, node) =>
        Array.from({ length: perNode }, async (_, i) => connectClient(url, await userToken({ sub: `u${node}-${i}`, org_id: "o1" }))),
      ),
    );
    for (const client of clients) expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: true });
    return clients;
  }

  it("delivers an event published once through the emitter exactly once to every client on every node", async () => {
    const clients = await spread("org:o1", 4);
    const seen = clients.map((c) => collect(c, "roster.player_hired"));
    const sentinels = clients.map((c) => nextEvent(c, "roster.sentinel", "s-1"));
    await hub.publish({ id: "hire-1", type: "roster.player_hired", org_id: "o1", payload: { player_id: 9 } });
    // Pub/sub keeps order per publisher: once the sentinel is in everywhere, so is every copy.
    await hub.publish({ id: "s-1", type: "roster.sentinel", org_id: "o1", payload: {} });
    await Promise.all(sentinels);
    expect(seen.map((s) => s.map((e) => e.id))).toEqual(clients.map(() => ["hire-1"]));
  });

  it("a client on node 1 and one on node 3 in the same topic both receive", async () => {
    const [first, , third] = urls() as [string, string, string];
    const a = await connectClient(first, await userToken({ sub: "a", org_id: "o1" }));
    const b = await connectClient(third, await userToken({ sub: "b", org_id: "o1" }));
    await request(a, "subscribe", { topic: "tournament:cup" });
    await request(b, "subscribe", { topic: "tournament:cup" });
    const both = Promise.all([nextEvent(a, "match_confirmed", "m-1"), nextEvent(b, "match_confirmed", "m-1")]);
    await hub.publish({ id: "m-1", type: "tournament_match.confirmed", org_id: "o1", payload: { tournament_id: "cup" } });
    const [onA, onB] = await both;
    expect(onA).toEqual(onB);
    expect(onA.topic).toBe("tournament:cup");
  });

  it("an HTTP publish on one node reaches clients on the others, once", async () => {
    const clients = await spread("org:o1", 1);
    const seen = clients.map((c) => collect(c, "player.transferred"));
    const last = clients.map((c) => nextEvent(c, "player.transferred", "t-2"));
    const res = await fetch(`${urls()[1]}/api/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await serviceToken()}` },
      body: JSON.stringify({ events: ["t-1", "t-2"].map((id) => ({ id, type: "player.transferred", org_id: "o1", payload: {} })) }),
    });
    expect(res.status).toBe(202);
    await Promise.all(last);
    expect(seen.map((s) => s.map((e) => e.id))).toEqual(clients.map(() => ["t-1", "t-2"]));
  });

  it("refuses cross-tenant subscriptions on every node and never leaks another org's events", async () => {
    const outsiders = await Promise.all(urls().map(async (url) => connectClient(url, await userToken({ sub: "x", org_id: "o2" }))));
    for (const outsider of outsiders) {
      for (const topic of ["org:o1", "inhouse:o1", "notifications:u0-0"]) {
        expect(await request(outsider, "subscribe", { topic })).toMatchObject({ ok: false, error: { code: "forbidden" } });
      }
      expect(await request(outsider, "subscribe", { topic: "org:o2" })).toMatchObject({ ok: true });
    }
    const leaked = outsiders.map((c) => collect(c, "roster.player_hired"));
    const sentinels = outsiders.map((c) => nextEvent(c, "roster.sentinel", "s-o2"));
    await hub.publish({ type: "roster.player_hired", org_id: "o1", payload: {} });
    await hub.publish({ id: "s-o2", type: "roster.sentinel", org_id: "o2", payload: {} });
    await Promise.all(sentinels);
    expect(leaked.flat()).toEqual([]);
  });

  it("the emitter refuses invalid events and delivers nothing for them", async () => {
    const redis = new Redis((hub as HubFixture & { redis: { url: string } }).redis.url);
    const emitter = createHubEmitter({ redis });
    try {
      await expect(emitter.publish({ type: "roster.x", org_id: "o1" } as never)).rejects.toMatchObject({ code: "invalid_event" });
      await expect(emitter.publish({ type: "unknown.thing", org_id: "o1", payload: {} })).rejects.toMatchObject({ code: "unknown_type" });
      await expect(emitter.publish({ type: "notification.created", org_id: "o1", payload: {} })).rejects.toMatchObject({
        code: "no_route",
      });
    } finally {
      redis.disconnect();
    }
  });
});
