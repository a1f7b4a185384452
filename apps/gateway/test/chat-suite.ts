import {
  closeAllClients,
  collect,
  connectClient,
  type HubClient,
  nextEvent,
  request,
  subscriptionToken,
  until,
  userToken,
} from "@hub/devkit";
import type { Envelope, PublishOk, SubscribeOk } from "@hub/events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HubFixture } from "./hub-fixture.js";

type Failure = { ok: false; error: { code: string; message: string } };

/** The next presence announcement about one user. */
function about(socket: HubClient, event: string, userId: string): Promise<Envelope> {
  const untyped = socket as unknown as { on(e: string, fn: (m: Envelope) => void): void; off(e: string, fn: (m: Envelope) => void): void };
  return new Promise((resolve) => {
    const listener = (msg: Envelope) => {
      if ((msg.data as { user_id?: string }).user_id !== userId) return;
      untyped.off(event, listener);
      resolve(msg);
    };
    untyped.on(event, listener);
  });
}

/** A conversation id nobody else in the run uses. */
const conversation = () => `chat:c-${Math.random().toString(36).slice(2, 10)}`;

/**
 * Seed 003's chat over the hub (docs/protocol.md "Client publications", "Built-in chat"): grants,
 * durable and ephemeral publications between users on different gateways, recovery, presence under
 * seed names, tenants kept apart. Registered once per engine.
 */
export function chatSuite(name: string, start: () => Promise<HubFixture>): void {
  describe(`chat (${name})`, () => {
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

    /** A user's socket on `url`, subscribed to `topic` with a subscription token (`pub` unless said otherwise). */
    async function member(sub: string, topic: string, url: string, options: { org?: string; pub?: boolean } = {}) {
      const org = options.org ?? "o1";
      const socket = await connectClient(url, await userToken({ sub, org_id: org }));
      const token = await subscriptionToken({ sub, topic, org_id: org, pub: options.pub ?? true });
      const ack = await request<SubscribeOk>(socket, "subscribe", { topic, token });
      expect(ack).toMatchObject({ ok: true, topic });
      return { socket, token };
    }

    const send = (socket: HubClient, topic: string, token: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      request<PublishOk | Failure>(socket, "publish", { topic, event: "message:send", data, token, ...extra });

    it("delivers every message once on every socket of both users, across gateways, in one order, sender_id from the token", async () => {
      const topic = conversation();
      const alice = await member("alice", topic, first);
      const aliceTab = await member("alice", topic, last);
      const bob = await member("bob", topic, last);
      const seen = [alice, aliceTab, bob].map(({ socket }) => collect(socket, "message:new"));
      const sender = new Map<string, string>();
      const burst = async (who: string, { socket, token }: typeof alice) => {
        for (let i = 0; i < 15; i++) {
          // A client cannot name the sender: extra request fields are ignored.
          const ack = await send(socket, topic, token, { text: `${who} ${i}` }, { sender_id: "mallory", sender_org_id: "evil" });
          expect(ack).toMatchObject({ ok: true });
          sender.set((ack as PublishOk).id, who);
        }
      };
      await Promise.all([burst("alice", alice), burst("bob", bob)]);
      await until("every socket has all 30 messages", () => seen.every((list) => list.length >= 30));
      for (const list of seen) {
        expect(list.map((m) => m.id)).toEqual(seen[0]?.map((m) => m.id));
        expect(list.map((m) => m.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        for (const message of list) {
          expect(message.sender_id).toBe(sender.get(message.id));
          expect(message).toMatchObject({ type: "message:new", topic, org_id: "o1", sender_org_id: "o1" });
        }
      }
      // Each sender's messages in the order it sent them.
      const texts = (who: string) => seen[2]?.filter((m) => m.sender_id === who).map((m) => (m.data as { text: string }).text);
      expect(texts("alice")).toEqual(Array.from({ length: 15 }, (_, i) => `alice ${i}`));
      expect(texts("bob")).toEqual(Array.from({ length: 15 }, (_, i) => `bob ${i}`));
      // Nothing twice: a last message, once on every socket, comes right after the 30.
      const marker = (await send(alice.socket, topic, alice.token, { text: "end" })) as PublishOk;
      await until("the marker arrived everywhere", () => seen.every((list) => list.some((m) => m.id === marker.id)));
      for (const list of seen) expect(list.map((m) => m.offset)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    });

    it("refuses another sender's id (id_conflict) instead of dropping the message", async () => {
      const topic = conversation();
      const alice = await member("alice", topic, first);
      const bob = await member("bob", topic, last);
      const seen = collect(alice.socket, "message:new");
      const id = `tmp-${Math.random().toString(36).slice(2)}`;
      expect(await send(alice.socket, topic, alice.token, { text: "alice's" }, { id })).toMatchObject({ ok: true, id, offset: 1 });
      expect(await send(bob.socket, topic, bob.token, { text: "bob's" }, { id })).toMatchObject({
        ok: false,
        error: { code: "id_conflict" },
      });
      const fresh = (await send(bob.socket, topic, bob.token, { text: "bob's" })) as PublishOk;
      expect(fresh).toMatchObject({ ok: true, offset: 2 });
      await until("bob's message arrived", () => seen.length >= 2);
      expect(seen.map((m) => [m.id, m.sender_id])).toEqual([
        [id, "alice"],
        [fresh.id, "bob"],
      ]);
    });

    it("answers a repeated id as a duplicate with the first position, and delivers it once", async () => {
      const topic = conversation();
      const alice = await member("alice", topic, first);
      const bob = await member("bob", topic, last);
      const seen = collect(bob.socket, "message:new");
      const id = `m-${Math.random().toString(36).slice(2)}`;
      const firstAck = (await send(alice.socket, topic, alice.token, { text: "once" }, { id })) as PublishOk;
      const again = (await send(alice.socket, topic, alice.token, { text: "once" }, { id })) as PublishOk;
      expect(firstAck).toMatchObject({ ok: true, id, offset: 1 });
      expect(again).toMatchObject({ ok: true, id, duplicate: true });
      if (hub.engine !== "memory") expect(again).toMatchObject({ offset: 1, epoch: firstAck.epoch });
      const marker = (await send(alice.socket, topic, alice.token, { text: "after" })) as PublishOk;
      await until("the marker arrived", () => seen.some((m) => m.id === marker.id));
      expect(seen.map((m) => m.id)).toEqual([id, marker.id]);
    });

    it("lets a reconnecting client recover the messages it missed", async () => {
      const topic = conversation();
      const alice = await member("alice", topic, first);
      const bob = await member("bob", topic, last);
      const before = nextEvent(bob.socket, "message:new");
      await send(alice.socket, topic, alice.token, { text: "before" });
      const last_ = await before;
      bob.socket.close();
      const missed: string[] = [];
      for (let i = 0; i < 5; i++) missed.push(((await send(alice.socket, topic, alice.token, { text: `missed ${i}` })) as PublishOk).id);
      const again = await connectClient(last, await userToken({ sub: "bob", org_id: "o1" }));
      const replayed = collect(again, "message:new");
      const ack = await request<SubscribeOk>(again, "subscribe", {
        topic,
        token: bob.token,
        since: { offset: last_.offset, epoch: last_.epoch },
      });
      expect(ack).toMatchObject({ ok: true, recovered: true, offset: 6 });
      expect(replayed.map((m) => m.id)).toEqual(missed);
    });

    it("shows typing to the other user, never to the sender's other tabs, and keeps it out of history", async () => {
      const topic = conversation();
      const alice = await member("alice", topic, first);
      const aliceTab = await member("alice", topic, last);
      const bob = await member("bob", topic, last);
      const tabTyping = collect(aliceTab.socket, "typing:start");
      const ownTyping = collect(alice.socket, "typing:start");
      const bobTyping = nextEvent(bob.socket, "typing:start");
      expect(await request(alice.socket, "publish", { topic, event: "typing:start", data: {}, token: alice.token })).toMatchObject({
        ok: true,
      });
      expect(await bobTyping).toMatchObject({ type: "typing:start", topic, sender_id: "alice", data: {} });
      expect((await bobTyping).offset).toBeUndefined();
      // A durable message after it, on the same channel: once the tab has it, it would have had the typing too.
      const tabMessage = nextEvent(aliceTab.socket, "message:new");
      await send(alice.socket, topic, alice.token, { text: "hello" });
      await tabMessage;
      expect(tabTyping).toEqual([]);
      expect(ownTyping).toEqual([]);
      // History holds the message only.
      const late = await connectClient(first, await userToken({ sub: "carol", org_id: "o1" }));
      const replayed: string[] = [];
      (late as unknown as { onAny(fn: (event: string) => void): void }).onAny((event) => replayed.push(event));
      const token = await subscriptionToken({ sub: "carol", topic, org_id: "o1" });
      const epoch = (await bobTyping).epoch ?? (await request<SubscribeOk>(late, "subscribe", { topic, token })).epoch;
      await request(late, "unsubscribe", { topic });
      replayed.length = 0;
      await request(late, "subscribe", { topic, token, since: { offset: 0, epoch } });
      expect(replayed.filter((event) => event.startsWith("typing"))).toEqual([]);
      expect(replayed.filter((event) => event === "message:new")).toHaveLength(1);
    });

    it("announces user:online and user:offline to the conversation", async () => {
      const topic = conversation();
      const bob = await member("bob", topic, first);
      // Bob's own arrival is announced too (to him as well): wait for Carol's.
      const online = about(bob.socket, "user:online", "carol");
      const carol = await member("carol", topic, last);
      expect(await online).toMatchObject({ type: "user:online", topic, data: { user_id: "carol" } });
      const offline = about(bob.socket, "user:offline", "carol");
      carol.socket.close();
      expect(await offline).toMatchObject({ type: "user:offline", topic, data: { user_id: "carol" } });
    });

    it("keeps one conversation id of two orgs apart", async () => {
      const topic = conversation();
      const alice = await member("alice", topic, first, { org: "o1" });
      const eve = await member("eve", topic, last, { org: "o2" });
      const mallory = await member("mallory", topic, last, { org: "o2" });
      const eveSeen = collect(eve.socket, "message:new");
      await send(alice.socket, topic, alice.token, { text: "o1 only" });
      // o2's own message arrives; o1's never does.
      const own = nextEvent(eve.socket, "message:new");
      const ownAck = (await send(mallory.socket, topic, mallory.token, { text: "o2" })) as PublishOk;
      expect((await own).id).toBe(ownAck.id);
      expect(ownAck.offset).toBe(1);
      expect(eveSeen.map((m) => m.sender_org_id)).toEqual(["o2"]);
    });

    it("refuses grants that do not fit: another user's, another topic's, another org's, expired, publishing without pub, none", async () => {
      const topic = conversation();
      const socket = await connectClient(first, await userToken({ sub: "alice", org_id: "o1" }));
      const refused = async (payload: Record<string, unknown>, event = "subscribe") => {
        const reply = await request<Failure>(socket, event, payload);
        expect(reply.ok).toBe(false);
        return reply.error;
      };
      expect(await refused({ topic, token: await subscriptionToken({ sub: "bob", topic, org_id: "o1" }) })).toMatchObject({
        code: "forbidden",
        message: expect.stringContaining("another user"),
      });
      expect(await refused({ topic, token: await subscriptionToken({ sub: "alice", topic: `${topic}x`, org_id: "o1" }) })).toMatchObject({
        code: "forbidden",
      });
      expect(await refused({ topic, token: await subscriptionToken({ sub: "alice", topic, org_id: "o2" }) })).toMatchObject({
        code: "forbidden",
        message: expect.stringContaining("another org"),
      });
      expect(await refused({ topic, token: await subscriptionToken({ sub: "alice", topic }, { expiresIn: -10 }) })).toMatchObject({
        code: "forbidden",
        message: expect.stringContaining("expired"),
      });
      expect(await refused({ topic, token: "not.a.jwt" })).toMatchObject({ code: "forbidden" });
      // Who is in a conversation is the conversation's: not without being subscribed.
      expect(await refused({ topic }, "presence")).toMatchObject({ code: "forbidden" });
      expect(await refused({ topic })).toMatchObject({ code: "forbidden", message: expect.stringContaining("needs a grant") });
      const readOnly = await subscriptionToken({ sub: "alice", topic, org_id: "o1" });
      expect(await request(socket, "subscribe", { topic, token: readOnly })).toMatchObject({ ok: true });
      expect(await refused({ topic, event: "message:send", data: { text: "x" }, token: readOnly }, "publish")).toMatchObject({
        code: "forbidden",
        message: expect.stringContaining("pub"),
      });
      // A subscription token is no connection token.
      await expect(connectClient(first, readOnly)).rejects.toMatchObject({ data: { code: "token_invalid" } });
    });

    it("answers bad publications with their codes and keeps delivering the good ones around them", async () => {
      const topic = conversation();
      const alice = await member("alice", topic, first);
      const bob = await member("bob", topic, last);
      const seen = collect(bob.socket, "message:new");
      const bad = async (payload: Record<string, unknown>) =>
        ((await request<Failure>(alice.socket, "publish", { topic, token: alice.token, ...payload })) as Failure).error?.code;
      const good = (await send(alice.socket, topic, alice.token, { text: "first" })) as PublishOk;
      expect(await bad({ event: "message:shout", data: {} })).toBe("unknown_event");
      expect(await bad({ event: "message:send", data: { text: 42 } })).toBe("invalid_event");
      expect(await bad({ event: "message:send", data: { text: "x", sender_id: "mallory" } })).toBe("invalid_event");
      expect(await bad({ event: "message:send", data: "hello" })).toBe("invalid_event");
      expect(await bad({ event: "message:send", data: [1, 2] })).toBe("invalid_event");
      expect(await bad({ event: "message:send", data: { text: "x".repeat(20_000) } })).toBe("payload_too_large");
      expect(await bad({ event: "typing:start", data: { note: "x".repeat(300) } })).toBe("payload_too_large");
      expect(await bad({ event: 7, data: {} })).toBe("bad_request");
      expect(await bad({ event: "message:send", data: {}, id: "bad id!" })).toBe("bad_request");
      expect(await bad({ topic: "nowhere:1", event: "message:send", data: { text: "x" } })).toBe("unknown_namespace");
      expect(await bad({ topic: "org:o1", event: "message:send", data: { text: "x" } })).toBe("unknown_event");
      const after = (await send(alice.socket, topic, alice.token, { text: "second" })) as PublishOk;
      await until("both good messages arrived", () => seen.length >= 2);
      expect(seen.map((m: Envelope) => m.id)).toEqual([good.id, after.id]);
      expect(after.offset).toBe(2);
    });
  });
}
