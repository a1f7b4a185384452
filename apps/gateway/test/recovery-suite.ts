import { closeAllClients, collect, connectClient, type HubClient, nextEvent, request, until, userToken } from "@hub/devkit";
import { EMPTY_EPOCH, type Envelope, type ProducerEvent, type SubscribeOk } from "@hub/events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HubFixture } from "./hub-fixture.js";

/** A hub under recovery tests: its nodes, and a way to publish many events in order. */
export interface RecoveryFixture extends HubFixture {
  /** Publishes events in order; resolves once all are accepted. */
  publishAll(events: ProducerEvent[]): Promise<void>;
}

const hire = (id: string, org = "o1"): ProducerEvent => ({ id, type: "roster.player_hired", org_id: org, payload: { n: id } });
const notify = (id: string, user: string, org = "o1"): ProducerEvent => ({
  id,
  type: "notification.created",
  org_id: org,
  user_id: user,
  payload: { id, title: `note ${id}` },
});
const ids = (events: Envelope[]) => events.map((e) => e.id);
const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

/**
 * Missed-event recovery, store-and-forward and idempotent offsets, the same on every engine. The
 * first and last gateway of the fixture play "node A" and "node B" (the same node on one-node hubs).
 */
export function recoverySuite(name: string, start: () => Promise<RecoveryFixture>): void {
  describe(`recovery (${name})`, () => {
    let hub: RecoveryFixture;
    let run = 0;
    const nodeA = () => (hub.gateways[0] as { url: string }).url;
    const nodeB = () => (hub.gateways.at(-1) as { url: string }).url;
    // Every test uses its own org, so no test sees another's history.
    let org = "";

    beforeAll(async () => {
      hub = await start();
    });
    afterAll(async () => {
      await hub?.close();
    });
    afterEach(() => closeAllClients());

    async function member(url: string, sub = "u1"): Promise<HubClient> {
      return connectClient(url, await userToken({ sub, org_id: org }));
    }

    async function subscribed(url: string, since?: { offset: number; epoch: string }, sub = "u1") {
      const client = await member(url, sub);
      const seen = collect(client, "roster.player_hired");
      const ack = await request<SubscribeOk>(client, "subscribe", { topic: `org:${org}`, ...(since ? { since } : {}) });
      return { client, seen, ack };
    }

    function nextOrg(): string {
      org = `rec${++run}-${Date.now().toString(36)}`;
      return org;
    }

    it("a subscribe on a topic with history acks its position, and live events carry offset and epoch", async () => {
      nextOrg();
      const { client, ack } = await subscribed(nodeA());
      // Nobody has published on it yet: the empty epoch, which the first publish replaces.
      expect(ack).toMatchObject({ ok: true, topic: `org:${org}`, offset: 0, epoch: EMPTY_EPOCH });
      expect(ack.recovered).toBeUndefined();
      const first = nextEvent(client, "roster.player_hired", "h1");
      await hub.publish(hire("h1", org));
      const h1 = await first;
      expect(h1).toMatchObject({ id: "h1", offset: 1, epoch: expect.stringMatching(/^[0-9a-f]{16}$/) });
      const second = await subscribed(nodeB());
      expect(second.ack).toMatchObject({ ok: true, offset: 1, epoch: h1.epoch });
    });

    it("a client back on another node with its offset gets exactly the 100 events it missed, in order, then live ones", async () => {
      nextOrg();
      const a = await subscribed(nodeA());
      const before = nextEvent(a.client, "roster.player_hired", "before");
      await hub.publish(hire("before", org));
      const last = await before;
      a.client.close();

      await hub.publishAll(range("missed-", 1, 100).map((id) => hire(id, org)));
      const b = await subscribed(nodeB(), { offset: last.offset as number, epoch: last.epoch as string });
      expect(b.ack).toMatchObject({ ok: true, recovered: true, epoch: last.epoch, offset: (last.offset as number) + 100 });
      expect(ids(b.seen)).toEqual(range("missed-", 1, 100));
      expect(b.seen.map((e) => e.offset)).toEqual(range("", 1, 100).map((n) => (last.offset as number) + Number(n)));

      const live = nextEvent(b.client, "roster.player_hired", "live-1");
      await hub.publish(hire("live-1", org));
      expect(await live).toMatchObject({ offset: (last.offset as number) + 101 });
      expect(ids(b.seen).filter((id) => id === "live-1")).toHaveLength(1);
    });

    it("publishing without pause through disconnects and resubscribes on alternating nodes: no gap, no duplicate", async () => {
      const mine = nextOrg();
      const hops = 9;
      // The producer runs until the last connection is subscribed, then a little longer.
      let lastHopSubscribed = false;
      const received: Envelope[] = [];
      const produce = async () => {
        let published = 0;
        for (let after = 0; after < 100; after += lastHopSubscribed ? 10 : 0) {
          // Stay within the topic's 200-event window of the client, however slow the machine.
          if (published - received.length > 150) await until("the client to catch up", () => published - received.length <= 150);
          // Bursts of 10 in flight at once: events keep arriving while a node reads the history.
          await hub.publishAll(range("e", published + 1, published + 10).map((id) => hire(id, mine)));
          published += 10;
        }
        return published;
      };
      let producer: Promise<number> | undefined;

      let since: { offset: number; epoch: string } | undefined;
      for (let hop = 0; hop < hops; hop++) {
        // Each connection but the last drops out after 100 more events, mid-stream; the next one
        // resumes on the other node from the last event it got.
        const client = await member(hop % 2 === 0 ? nodeA() : nodeB());
        const last = hop === hops - 1;
        const stop = received.length + 100;
        let acked = false;
        let stopped: () => void = () => {};
        const done = new Promise<void>((resolve) => {
          stopped = resolve;
        });
        // The replay arrives before the ack: drop out only once the ack is in.
        const maybeStop = () => {
          if (last || !acked || received.length < stop) return;
          client.disconnect();
          stopped();
        };
        (client as unknown as { on(e: string, fn: (m: Envelope) => void): void }).on("roster.player_hired", (msg) => {
          received.push(msg);
          maybeStop();
        });
        const ack = await request<SubscribeOk>(client, "subscribe", { topic: `org:${org}`, ...(since ? { since } : {}) });
        if (since) expect(ack, JSON.stringify({ hop, since })).toMatchObject({ ok: true, recovered: true });
        acked = true;
        producer ??= produce();
        if (last) {
          lastHopSubscribed = true;
          const total = await producer;
          await until(`event e${total}`, () => received.some((e) => e.id === `e${total}`));
          expect(ids(received)).toEqual(range("e", 1, total));
        } else {
          maybeStop();
          await done;
          const lastSeen = received.at(-1) as Envelope;
          since = { offset: lastSeen.offset as number, epoch: lastSeen.epoch as string };
        }
      }
      // Everything, each once, in publish order, with offsets that have no hole.
      expect(received.map((e) => e.offset)).toEqual(received.map((_, i) => i + 1));
    });

    it("trimmed history: an offset that fell out of the window gets recovered: false and live delivery", async () => {
      nextOrg();
      await hub.publish(hire("t0", org));
      const a = await subscribed(nodeA());
      a.client.close();
      // org topics keep 200 events: 250 more push the first 51 out.
      await hub.publishAll(range("t", 1, 250).map((id) => hire(id, org)));
      const b = await subscribed(nodeB(), { offset: 1, epoch: a.ack.epoch as string });
      expect(b.ack).toMatchObject({ ok: true, recovered: false, epoch: a.ack.epoch, offset: 251 });
      const live = nextEvent(b.client, "roster.player_hired", "after-trim");
      await hub.publish(hire("after-trim", org));
      await live;
      expect(ids(b.seen)).toEqual(["after-trim"]);
    });

    it("an unknown epoch gets recovered: false with the current epoch", async () => {
      nextOrg();
      await hub.publish(hire("x1", org));
      const b = await subscribed(nodeB(), { offset: 0, epoch: "not-an-epoch" });
      expect(b.ack).toMatchObject({ ok: true, recovered: false, offset: 1 });
      expect(b.ack.epoch).not.toBe("not-an-epoch");
      expect(b.seen).toEqual([]);
    });

    it("a client already at the head recovers with nothing to replay", async () => {
      nextOrg();
      await hub.publishAll([hire("y1", org), hire("y2", org)]);
      const a = await subscribed(nodeA());
      const b = await subscribed(nodeB(), { offset: a.ack.offset as number, epoch: a.ack.epoch as string });
      expect(b.ack).toMatchObject({ recovered: true, offset: 2 });
      expect(b.seen).toEqual([]);
    });

    it("a duplicate id never gets a second offset", async () => {
      nextOrg();
      const a = await subscribed(nodeA());
      const done = nextEvent(a.client, "roster.player_hired", "d2");
      await hub.publishAll([hire("d1", org), hire("d1", org), hire("d2", org)]);
      await done;
      expect(a.seen.map((e) => [e.id, e.offset])).toEqual([
        ["d1", 1],
        ["d2", 2],
      ]);
    });

    it("subscribe, unsubscribe and subscribe again back to back: the last one wins and is live", async () => {
      nextOrg();
      await hub.publish(hire("s0", org));
      const client = await member(nodeA());
      const seen = collect(client, "roster.player_hired");
      const topic = `org:${org}`;
      const first = request(client, "subscribe", { topic, since: { offset: 0, epoch: "stale" } });
      const left = request(client, "unsubscribe", { topic });
      const again = request<SubscribeOk>(client, "subscribe", { topic });
      await Promise.all([first, left]);
      expect(await again).toMatchObject({ ok: true, topic, offset: 1 });
      const live = nextEvent(client, "roster.player_hired", "s1");
      await hub.publish(hire("s1", org));
      await live;
      expect(ids(seen)).toEqual(["s1"]);
    });

    it("bad since values are refused with bad_request", async () => {
      nextOrg();
      const client = await member(nodeA());
      for (const since of [{ offset: -1, epoch: "e" }, { offset: 1.5, epoch: "e" }, { offset: 1 }, "1", { offset: 1, epoch: 7 }]) {
        expect(await request(client, "subscribe", { topic: `org:${org}`, since })).toMatchObject({
          ok: false,
          error: { code: "bad_request" },
        });
      }
    });

    it("a topic nobody published on acks the empty epoch; since at it recovers every event its first publish starts", async () => {
      nextOrg();
      const first = await subscribed(nodeA());
      expect(first.ack).toMatchObject({ ok: true, epoch: EMPTY_EPOCH, offset: 0 });
      first.client.close();
      await hub.publishAll(range(`${org}-e`, 1, 3).map((id) => hire(id, org)));
      const back = await subscribed(nodeB(), { offset: 0, epoch: EMPTY_EPOCH });
      expect(back.ack).toMatchObject({ ok: true, recovered: true, offset: 3 });
      expect(back.ack.epoch).not.toBe(EMPTY_EPOCH);
      expect(ids(back.seen)).toEqual(range(`${org}-e`, 1, 3));
      expect(back.seen.every((e) => e.epoch === back.ack.epoch)).toBe(true);
    });

    describe("store-and-forward on notifications:{user_id}", () => {
      it("a user offline for the whole publish gets everything on the next connect, from a new client with no offset", async () => {
        nextOrg();
        const user = `off-${org}`;
        await hub.publishAll(range("n", 1, 5).map((id) => notify(`${org}-${id}`, user, org)));
        const client = await member(nodeB(), user);
        const seen = collect(client, "notification.created");
        const ack = await request<SubscribeOk>(client, "subscribe", { topic: `notifications:${user}` });
        expect(ack).toMatchObject({ ok: true, offset: 5 });
        expect(ids(seen)).toEqual(range(`${org}-n`, 1, 5));
        expect(seen.map((e) => e.data)).toEqual(range(`${org}-n`, 1, 5).map((id) => ({ notification: { id, title: `note ${id}` } })));
      });

      it("acknowledged notifications are not delivered again, on any device; the rest are, in order", async () => {
        nextOrg();
        const user = `ack-${org}`;
        const topic = `notifications:${user}`;
        await hub.publishAll(range("n", 1, 5).map((id) => notify(`${org}-${id}`, user, org)));
        const phone = await member(nodeA(), user);
        const onPhone = collect(phone, "notification.created");
        await request(phone, "subscribe", { topic });
        expect(onPhone).toHaveLength(5);
        expect(await request(phone, "ack", { topic, offset: 3 })).toEqual({ ok: true, topic, offset: 3 });
        // Acknowledgements never move the cursor back.
        expect(await request(phone, "ack", { topic, offset: 1 })).toEqual({ ok: true, topic, offset: 3 });
        phone.close();
        await hub.publishAll(range("n", 6, 7).map((id) => notify(`${org}-${id}`, user, org)));

        const laptop = await member(nodeB(), user);
        const onLaptop = collect(laptop, "notification.created");
        await request(laptop, "subscribe", { topic });
        expect(ids(onLaptop)).toEqual(range(`${org}-n`, 4, 7));
        // An offset past the head cannot be of this epoch: ignored. The right one moves the cursor.
        expect(await request(laptop, "ack", { topic, offset: 99 })).toEqual({ ok: true, topic, offset: 3 });
        expect(await request(laptop, "ack", { topic, offset: 7, epoch: "another-epoch" })).toEqual({ ok: true, topic, offset: 3 });
        expect(await request(laptop, "ack", { topic, offset: 7 })).toEqual({ ok: true, topic, offset: 7 });
        laptop.close();
        const tablet = await member(nodeA(), user);
        const onTablet = collect(tablet, "notification.created");
        expect(await request(tablet, "subscribe", { topic })).toMatchObject({ ok: true, offset: 7 });
        expect(onTablet).toEqual([]);
      });

      it("a client's own offset wins over the shared cursor when it is usable", async () => {
        nextOrg();
        const user = `own-${org}`;
        const topic = `notifications:${user}`;
        await hub.publishAll(range("n", 1, 4).map((id) => notify(`${org}-${id}`, user, org)));
        const first = await member(nodeA(), user);
        const ack = await request<SubscribeOk>(first, "subscribe", { topic });
        await request(first, "ack", { topic, offset: 4 });
        const second = await member(nodeB(), user);
        const seen = collect(second, "notification.created");
        const resumed = await request<SubscribeOk>(second, "subscribe", { topic, since: { offset: 2, epoch: ack.epoch } });
        expect(resumed).toMatchObject({ recovered: true, offset: 4 });
        expect(ids(seen)).toEqual(range(`${org}-n`, 3, 4));
      });

      it("users of two orgs with the same sub share nothing: not a notification, a backlog or a cursor", async () => {
        nextOrg();
        const [orgA, orgB] = [`${org}-a`, `${org}-b`];
        const topic = "notifications:7";
        await hub.publishAll(range("n", 1, 3).map((id) => notify(`${orgA}-${id}`, "7", orgA)));
        await hub.publishAll(range("n", 1, 2).map((id) => notify(`${orgB}-${id}`, "7", orgB)));
        const inA = await connectClient(nodeA(), await userToken({ sub: "7", org_id: orgA }));
        const seenA = collect(inA, "notification.created");
        expect(await request(inA, "subscribe", { topic })).toMatchObject({ ok: true, topic, offset: 3 });
        expect(ids(seenA)).toEqual(range(`${orgA}-n`, 1, 3));
        expect(seenA.every((e) => e.topic === topic && e.org_id === orgA)).toBe(true);
        expect(await request(inA, "ack", { topic, offset: 3 })).toEqual({ ok: true, topic, offset: 3 });

        // Org B's user 7 still has its own backlog: org A's acknowledgement did not touch it.
        const inB = await connectClient(nodeB(), await userToken({ sub: "7", org_id: orgB }));
        const seenB = collect(inB, "notification.created");
        expect(await request(inB, "subscribe", { topic })).toMatchObject({ ok: true, topic, offset: 2 });
        expect(ids(seenB)).toEqual(range(`${orgB}-n`, 1, 2));

        // Live: a notification for org A's user 7 reaches only org A's user 7.
        const live = [nextEvent(inA, "notification.created", `${orgA}-live`), nextEvent(inB, "notification.created", `${orgB}-live`)];
        await hub.publishAll([notify(`${orgA}-live`, "7", orgA), notify(`${orgB}-live`, "7", orgB)]);
        await Promise.all(live);
        expect(ids(seenA)).toEqual([...range(`${orgA}-n`, 1, 3), `${orgA}-live`]);
        expect(ids(seenB)).toEqual([...range(`${orgB}-n`, 1, 2), `${orgB}-live`]);
      });

      it("acknowledging someone else's topic, or a topic without store-and-forward, is forbidden", async () => {
        nextOrg();
        const client = await member(nodeA(), "me");
        for (const topic of ["notifications:someone-else", `org:${org}`]) {
          expect(await request(client, "ack", { topic, offset: 1 })).toMatchObject({ ok: false, error: { code: "forbidden" } });
        }
        for (const bad of [{ topic: "notifications:me" }, { topic: "notifications:me", offset: -2 }, "x", { topic: 5, offset: 1 }]) {
          expect(await request(client, "ack", bad)).toMatchObject({ ok: false });
        }
      });
    });
  });
}
