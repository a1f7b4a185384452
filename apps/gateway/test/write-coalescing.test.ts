import { closeAllClients, connectClient, type HubClient, request, until, userToken } from "@hub/devkit";
import { EMPTY_EPOCH, type Envelope, type ProducerEvent } from "@hub/events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metricOn } from "./gateway-metrics.js";
import { clusterHub, type HubFixture, httpPublish, memoryHub, redisHub } from "./hub-fixture.js";

// A window wide enough that a burst published at once reaches the gateway inside it on any machine.
const WINDOW = { WRITE_DELAY_MS: "150" };
const BURST = 30;

/** Every engine: the adapter under the coalescing differs (in-memory, Redis classic, sharded, Cluster). */
const engines: Array<[string, () => Promise<HubFixture>]> = [
  ["memory engine", () => memoryHub(WINDOW)],
  ["single Redis, classic pub/sub", () => redisHub(1, WINDOW)],
  ["single Redis, sharded pub/sub", () => redisHub(1, { ...WINDOW, HUB_PUBSUB: "sharded" })],
  ["Redis Cluster, sharded pub/sub, two gateways", () => clusterHub(2, WINDOW)],
];

let run = 0;
const hire = (org: string, i: number): ProducerEvent => ({ id: `b${i}`, type: "roster.player_hired", org_id: org, payload: { i } });

type Item = Envelope & { name: string };

/** What a raw socket.io-client receives: single events and batch frames, in arrival order, each item with its event name. */
function frames(socket: HubClient): Array<{ event: string; items: Item[] }> {
  const seen: Array<{ event: string; items: Item[] }> = [];
  socket.onAny((event: string, arg: unknown) => {
    if (event === "batch")
      seen.push({ event, items: (arg as Array<[string, Envelope]>).map(([name, envelope]) => ({ ...envelope, name })) });
    else seen.push({ event, items: [{ ...(arg as Envelope), name: event }] });
  });
  return seen;
}

/** The hires among what a client received (org topics also carry presence announcements). */
const hires = (seen: ReadonlyArray<{ items: Item[] }>) => seen.flatMap((f) => f.items).filter((e) => e.name === "roster.player_hired");

describe.each(engines)("write coalescing, %s", (_name, start) => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await start();
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await hub?.close();
  });

  it("a burst reaches a client that negotiated batch frames in batches, in order; one that did not gets single events", async () => {
    const org = `wc${++run}-${Date.now().toString(36)}`;
    const gateway = hub.gateways.at(-1) as { url: string };
    const token = await userToken({ sub: "u1", org_id: org });
    const batched = await connectClient(gateway.url, undefined, { auth: { token, coalesce: true } });
    const single = await connectClient(gateway.url, token);
    const batchedFrames = frames(batched);
    const singleFrames = frames(single);
    for (const socket of [batched, single]) {
      expect(await request(socket, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
    }
    const before = await metricOn(hub.gateways.at(-1) as never, "hub_write_batches_total");

    const events = Array.from({ length: BURST }, (_, i) => hire(org, i + 1));
    if (hub.engine === "memory") {
      const res = await httpPublish(gateway.url, { events });
      expect(res.status).toBe(202);
    } else {
      await Promise.all(events.map((event) => hub.publish(event)));
    }

    await until("every event on both clients", () => hires(batchedFrames).length >= BURST && hires(singleFrames).length >= BURST);
    for (const seen of [batchedFrames, singleFrames]) {
      const envelopes = hires(seen);
      expect(envelopes.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(envelopes.map((e) => e.offset)).toEqual(events.map((_, i) => i + 1));
      expect(new Set(envelopes.map((e) => e.epoch)).size).toBe(1);
    }
    // The batch frames carry the event name each envelope would have come under.
    expect(batchedFrames.some((f) => f.event === "batch" && f.items.length >= 2)).toBe(true);
    expect(batchedFrames.filter((f) => f.items.some((e) => e.name === "roster.player_hired")).length).toBeLessThan(BURST);
    expect(singleFrames.some((f) => f.event === "batch")).toBe(false);
    expect(await metricOn(hub.gateways.at(-1) as never, "hub_write_batches_total")).toBeGreaterThan(before);
  });

  it("a socket that subscribes during a held burst gets each event once: from its catch-up or live, never both", async () => {
    const org = `wc${++run}-${Date.now().toString(36)}`;
    const gateway = hub.gateways.at(-1) as { url: string };
    const token = await userToken({ sub: "u2", org_id: org });
    const early = await connectClient(gateway.url, undefined, { auth: { token, coalesce: true } });
    const late = await connectClient(gateway.url, undefined, { auth: { token, coalesce: true } });
    const earlyFrames = frames(early);
    const lateFrames = frames(late);
    expect(await request(early, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });

    const events = Array.from({ length: BURST }, (_, i) => hire(org, i + 1));
    const published = Promise.all(events.map((event) => hub.publish(event)));
    // Subscribes from offset 0 while the burst is being published and held: history and live meet here.
    const subscribed = request<{ ok: boolean }>(late, "subscribe", { topic: `org:${org}`, since: { offset: 0, epoch: EMPTY_EPOCH } });
    await published;
    expect(await subscribed).toMatchObject({ ok: true });
    await until("the burst on both", () => hires(earlyFrames).length >= BURST && hires(lateFrames).length >= BURST);
    for (const seen of [earlyFrames, lateFrames]) {
      expect(hires(seen).map((e) => e.offset)).toEqual(events.map((_, i) => i + 1));
    }
  });
});
