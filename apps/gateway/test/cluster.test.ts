import { closeAllClients, collect, connectClient, type HubClient, nextEvent, request, serviceToken, userToken } from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import type { DeadLetterEntry } from "@hub/store";
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

  it("the emitter refuses invalid events, delivers nothing for them and dead-letters each once with source emitter", async () => {
    const redis = new Redis((hub as HubFixture & { redis: { url: string } }).redis.url);
    const emitter = createHubEmitter({ redis });
    const marker = `refused-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    // Clients on every node, on every topic these events could reach.
    const clients = await Promise.all(
      urls().map(async (url, node) => {
        const client = await connectClient(url, await serviceToken(`watch-${node}`));
        for (const body of [{ topic: "org:o1" }, { topic: "notifications:u1", org_id: "o1" }, { topic: "tournament:cup" }]) {
          expect(await request(client, "subscribe", body)).toMatchObject({ ok: true });
        }
        return client;
      }),
    );
    const seen = clients.map((c) => {
      const all: unknown[] = [];
      c.onAny((event: string, envelope: { id?: string }) => {
        if (!event.startsWith("presence.") && event !== "roster.sentinel") all.push([event, envelope?.id]);
      });
      return all;
    });
    const refused: Array<[event: Record<string, unknown>, code: string]> = [
      [{ marker, type: "roster.x", org_id: "o1" }, "invalid_event"],
      [{ marker, type: "unknown.thing", org_id: "o1", payload: {} }, "unknown_type"],
      [{ marker, type: "notification.created", org_id: "o1", payload: {} }, "no_route"],
      [{ marker, type: "tournament_match.confirmed", org_id: "o1", payload: { tournament_id: { no: "id" } } }, "invalid_event"],
    ];
    try {
      for (const [event, code] of refused) await expect(emitter.publish(event as never)).rejects.toMatchObject({ code });
      const sentinels = clients.map((c) => nextEvent(c, "roster.sentinel", `s-${marker}`));
      await hub.publish({ id: `s-${marker}`, type: "roster.sentinel", org_id: "o1", payload: {} });
      await Promise.all(sentinels);
    } finally {
      redis.disconnect();
    }
    expect(seen).toEqual(clients.map(() => []));

    // The publish rejected only after its dead letter was written: each is in, once, whichever node reads.
    const entries = await deadLettersWith(urls()[2] as string, marker);
    expect(entries.map((e) => [JSON.parse(e.raw), e.code, e.source]).sort()).toEqual(
      refused.map(([event, code]) => [event, code, "emitter"]).sort(),
    );
  });

  /** The dead-letter entries, over every stream, whose raw input contains `marker` (read through the HTTP API). */
  async function deadLettersWith(url: string, marker: string): Promise<DeadLetterEntry[]> {
    const headers = { authorization: `Bearer ${await serviceToken()}` };
    const listed = await fetch(`${url}/api/v1/dlq`, { headers });
    expect(listed.status).toBe(200);
    const { streams } = (await listed.json()) as { streams: Array<{ stream: string }> };
    const found: DeadLetterEntry[] = [];
    for (const { stream } of streams) {
      const res = await fetch(`${url}/api/v1/dlq/${encodeURIComponent(stream)}/entries?count=500`, { headers });
      expect(res.status).toBe(200);
      found.push(...((await res.json()) as { entries: DeadLetterEntry[] }).entries.filter((e) => e.raw.includes(marker)));
    }
    return found;
  }
});
