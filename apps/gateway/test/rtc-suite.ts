import { closeAllClients, collect, connectClient, type HubClient, nextEvent, request, serviceToken, userToken } from "@hub/devkit";
import type { CallInitiateOk, Envelope, HuddleCreateOk, HuddleJoinOk, SubscribeOk } from "@hub/events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HubFixture } from "./hub-fixture.js";

type Failure = { ok: false; error: { code: string; message: string } };

/** Settings every topology of the suite runs with: short enough to wait for in a test. */
export const RTC_ENV = { CALL_RING_TIMEOUT_MS: "1000", HUDDLE_GRACE_MS: "500", HUDDLE_MAX_PARTICIPANTS: "3" };

const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

/**
 * Seed 003's calls and huddles over the hub (docs/protocol.md "Calls", "Huddles"): users on
 * different gateways, the ring timeout fired by whichever gateway sweeps first, signalling only
 * between the parties. Registered once per topology.
 */
export function rtcSuite(name: string, start: () => Promise<HubFixture>): void {
  describe(`calls and huddles (${name})`, () => {
    let hub: HubFixture;
    let first: string;
    let last: string;

    beforeAll(async () => {
      hub = await start();
      first = hub.gateways[0]?.url as string;
      last = hub.gateways.at(-1)?.url as string;
    });
    afterAll(async () => {
      await hub?.close();
    });
    afterEach(() => closeAllClients());

    /** A user's socket, subscribed to their own `webrtc:` topic. */
    async function user(sub: string, url: string, org = "o1"): Promise<HubClient> {
      const socket = await connectClient(url, await userToken({ sub, org_id: org }));
      expect(await request<SubscribeOk>(socket, "subscribe", { topic: `webrtc:${sub}` })).toMatchObject({ ok: true });
      return socket;
    }

    /** Every event of `type` a user's `webrtc:` topic holds, read back from its history. */
    async function historyOf(sub: string, type: string, org = "o1"): Promise<Envelope[]> {
      const socket = await connectClient(first, await userToken({ sub, org_id: org }));
      const seen = collect(socket, type);
      await request(socket, "subscribe", { topic: `webrtc:${sub}`, since: { offset: 0, epoch: "" } });
      socket.close();
      return seen.filter((e) => e.type === type);
    }

    async function callState(callId: string): Promise<{ status: number; body: Record<string, unknown> }> {
      const res = await fetch(`${first}/api/v1/calls/${callId}`, { headers: { authorization: `Bearer ${await serviceToken()}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }

    it("rings, answers, relays signalling in order between the parties only, and hangs up, across gateways", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const incoming = nextEvent(bob, "call:incoming");
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "video" });
      expect(call).toMatchObject({ ok: true });
      expect((await incoming).data).toEqual({ call_id: call.call_id, from: a, media: "video" });

      const answered = [nextEvent(alice, "call:answered"), nextEvent(bob, "call:answered")];
      expect(await request(bob, "call:answer", { call_id: call.call_id })).toEqual({ ok: true, call_id: call.call_id });
      for (const e of await Promise.all(answered)) expect(e.data).toEqual({ call_id: call.call_id, by: b });

      // The offer and 10 candidates reach the other party only, in the order sent.
      const candidates = collect(bob, "webrtc:ice-candidate");
      const offer = nextEvent(bob, "webrtc:offer");
      await request(alice, "webrtc:offer", { call_id: call.call_id, sdp: { type: "offer", sdp: "v=0" } });
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => request(alice, "webrtc:ice-candidate", { call_id: call.call_id, candidate: { n: i } })),
      );
      expect((await offer).data).toEqual({ call_id: call.call_id, from: a, sdp: { type: "offer", sdp: "v=0" } });
      const answer = nextEvent(alice, "webrtc:answer");
      await request(bob, "webrtc:answer", { call_id: call.call_id, sdp: { type: "answer", sdp: "v=0" } });
      expect((await answer).data).toMatchObject({ from: b });
      expect(candidates.map((c) => (c.data as { candidate: { n: number } }).candidate.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

      // A third user of the same org may not signal on it, nor answer or end it.
      const mallory = await user(unique("mallory"), first);
      for (const event of ["webrtc:offer", "webrtc:ice-candidate"]) {
        expect(await request<Failure>(mallory, event, { call_id: call.call_id, sdp: "x" })).toMatchObject({
          ok: false,
          error: { code: "forbidden" },
        });
      }
      expect(await request<Failure>(mallory, "call:end", { call_id: call.call_id })).toMatchObject({ error: { code: "forbidden" } });

      const muted = nextEvent(bob, "call:toggle-audio");
      await request(alice, "call:toggle-audio", { call_id: call.call_id, enabled: false });
      expect((await muted).data).toEqual({ call_id: call.call_id, user_id: a, enabled: false });

      const ended = [nextEvent(alice, "call:ended"), nextEvent(bob, "call:ended")];
      await request(alice, "call:end", { call_id: call.call_id });
      for (const e of await Promise.all(ended)) expect(e.data).toMatchObject({ call_id: call.call_id, by: a, reason: "hangup" });
      expect(await callState(call.call_id)).toMatchObject({ status: 200, body: { status: "completed", caller: a, callee: b } });
      expect(await request<Failure>(alice, "webrtc:offer", { call_id: call.call_id, sdp: "x" })).toMatchObject({
        error: { code: "bad_request" },
      });
    });

    it("tracks presence on webrtc topics without announcing it to their user", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await connectClient(last, await userToken({ sub: b, org_id: "o1" }));
      const joins = collect(bob, "presence.join");
      await request(bob, "subscribe", { topic: `webrtc:${b}` });
      // A join announcement would come before anything published after it on the topic.
      const incoming = nextEvent(bob, "call:incoming");
      await request(alice, "call:initiate", { to: b, media: "audio" });
      await incoming;
      expect(joins).toEqual([]);
      expect(await request(bob, "presence", { topic: `webrtc:${b}` })).toMatchObject({ users: [{ user_id: b }] });
    });

    it("misses an unanswered call after the ring timeout: both parties get call:missed once", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const missed = [nextEvent(alice, "call:missed"), nextEvent(bob, "call:missed")];
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      for (const e of await Promise.all(missed)) expect(e.data).toEqual({ call_id: call.call_id });
      expect(await callState(call.call_id)).toMatchObject({ body: { status: "missed" } });
      expect(await historyOf(a, "call:missed")).toHaveLength(1);
      expect(await historyOf(b, "call:missed")).toHaveLength(1);
      expect(await request<Failure>(bob, "call:answer", { call_id: call.call_id })).toMatchObject({ error: { code: "bad_request" } });
    });

    it("tells the caller the callee is busy, lets the callee reject, and refuses callees it cannot place", async () => {
      const [a, b, c] = [unique("alice"), unique("bob"), unique("carol")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const carol = await user(c, first);
      const first_ = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      const busy = nextEvent(carol, "call:busy");
      const second = await request<CallInitiateOk>(carol, "call:initiate", { to: b, media: "audio" });
      expect(second).toMatchObject({ ok: true, busy: true });
      expect((await busy).data).toEqual({ call_id: second.call_id, to: b });
      expect(await callState(second.call_id)).toMatchObject({ body: { status: "busy" } });
      // The caller is on a call too.
      expect(await request<Failure>(alice, "call:initiate", { to: c, media: "audio" })).toMatchObject({
        error: { code: "call_in_progress" },
      });

      expect(await request<Failure>(alice, "call:reject", { call_id: first_.call_id })).toMatchObject({ error: { code: "forbidden" } });
      const rejected = [nextEvent(alice, "call:rejected"), nextEvent(bob, "call:rejected")];
      await request(bob, "call:reject", { call_id: first_.call_id });
      for (const e of await Promise.all(rejected)) expect(e.data).toEqual({ call_id: first_.call_id, by: b });
      // Bob is free again: Carol's call rings.
      const incoming = nextEvent(bob, "call:incoming");
      const third = await request<CallInitiateOk>(carol, "call:initiate", { to: b, media: "audio" });
      expect(third.busy).toBeUndefined();
      expect((await incoming).data).toMatchObject({ call_id: third.call_id, from: c });

      // Nobody connected under that id in this org (another org's user does not count), and no backend to ask.
      await user("dave", first, "o2");
      expect(await request<Failure>(alice, "call:initiate", { to: "dave", media: "audio" })).toMatchObject({
        error: { code: "not_found" },
      });
      expect(await request<Failure>(alice, "call:initiate", { to: a, media: "audio" })).toMatchObject({ error: { code: "bad_request" } });
      // Another org's user cannot act on the call.
      const eve = await user(b, first, "o2");
      expect(await request<Failure>(eve, "call:answer", { call_id: third.call_id })).toMatchObject({ error: { code: "not_found" } });
    });

    it("ends a call when a party's connection closes", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      await request(bob, "call:answer", { call_id: call.call_id });
      const ended = nextEvent(bob, "call:ended");
      alice.close();
      expect((await ended).data).toMatchObject({ call_id: call.call_id, by: a, reason: "disconnected" });
    });

    it("fills a huddle to its cap, locks the screen share to one, releases it when its holder's connection dies, and ends when the last leaves", async () => {
      const conversation = unique("conv");
      const names = [unique("ann"), unique("ben"), unique("cat"), unique("dan")];
      const sockets = await Promise.all(
        names.map(async (n, i) => connectClient(i % 2 ? last : first, await userToken({ sub: n, org_id: "o1" }))),
      );
      const [ann, ben, cat, dan] = sockets as [HubClient, HubClient, HubClient, HubClient];
      const created = await request<HuddleCreateOk>(ann, "huddle:create", { conversation_id: conversation });
      expect(created).toMatchObject({ ok: true, created: true });
      expect(await request<HuddleCreateOk>(ben, "huddle:create", { conversation_id: conversation })).toEqual({
        ok: true,
        huddle_id: created.huddle_id,
        created: false,
      });
      const huddle = created.huddle_id;
      const topic = `huddle:${huddle}`;
      // Only participants may subscribe to its topic.
      expect(await request<Failure>(dan, "subscribe", { topic })).toMatchObject({ error: { code: "forbidden" } });

      await request<HuddleJoinOk>(ann, "huddle:join", { huddle_id: huddle });
      const joined = nextEvent(ann, "huddle:participant:joined");
      const benJoin = await request<HuddleJoinOk>(ben, "huddle:join", { huddle_id: huddle });
      expect(benJoin.participants.map((p) => p.user_id)).toEqual([names[0], names[1]]);
      expect((await joined).data).toMatchObject({ participant: { user_id: names[1] } });
      await request(cat, "huddle:join", { huddle_id: huddle });
      expect(await request<Failure>(dan, "huddle:join", { huddle_id: huddle })).toMatchObject({ error: { code: "huddle_full" } });
      // Another org's user: the huddle is not theirs.
      const mallory = await connectClient(first, await userToken({ sub: unique("m"), org_id: "o2" }));
      expect(await request<Failure>(mallory, "huddle:join", { huddle_id: huddle })).toMatchObject({ error: { code: "forbidden" } });

      const sharing = nextEvent(cat, "huddle:participant:updated");
      expect(await request(ann, "huddle:toggle-screen", { huddle_id: huddle, enabled: true })).toMatchObject({ ok: true });
      expect((await sharing).data).toMatchObject({ participant: { user_id: names[0], screen: true } });
      expect(await request<Failure>(ben, "huddle:toggle-screen", { huddle_id: huddle, enabled: true })).toMatchObject({
        error: { code: "screen_share_taken" },
      });

      const message = nextEvent(ben, "huddle:message:new");
      await request(cat, "huddle:message", { huddle_id: huddle, text: "hello" });
      expect((await message).data).toMatchObject({ user_id: names[2], text: "hello" });

      // Ann's connection dies: her screen share stops at once; she leaves after the grace period.
      const released = nextEvent(ben, "huddle:participant:updated");
      const left = nextEvent(ben, "huddle:participant:left");
      ann.disconnect();
      expect((await released).data).toMatchObject({ participant: { user_id: names[0], screen: false, away: true } });
      expect(await request(ben, "huddle:toggle-screen", { huddle_id: huddle, enabled: true })).toMatchObject({ ok: true });
      expect((await left).data).toEqual({ huddle_id: huddle, user_id: names[0] });

      const invited = nextEvent(dan, "huddle:invited");
      await request(dan, "subscribe", { topic: `notifications:${names[3]}` });
      await request(cat, "huddle:invite", { huddle_id: huddle, user_ids: [names[3]] });
      expect((await invited).data).toMatchObject({ huddle_id: huddle, conversation_id: conversation, by: names[2] });

      const res = await fetch(`${first}/api/v1/huddles/${huddle}`, { headers: { authorization: `Bearer ${await serviceToken()}` } });
      expect(await res.json()).toMatchObject({
        id: huddle,
        org_id: "o1",
        screen: names[1],
        participants: [{ user_id: names[1] }, { user_id: names[2] }],
      });

      const ended = nextEvent(cat, "huddle:ended");
      await request(ben, "huddle:leave", { huddle_id: huddle });
      await request(cat, "huddle:leave", { huddle_id: huddle });
      expect((await ended).data).toEqual({ huddle_id: huddle });
      const gone = await fetch(`${first}/api/v1/huddles/${huddle}`, { headers: { authorization: `Bearer ${await serviceToken()}` } });
      expect(gone.status).toBe(404);
      // The conversation can have a new huddle.
      const again = await request<HuddleCreateOk>(ben, "huddle:create", { conversation_id: conversation });
      expect(again).toMatchObject({ created: true });
      expect(again.huddle_id).not.toBe(huddle);
    });
  });
}
