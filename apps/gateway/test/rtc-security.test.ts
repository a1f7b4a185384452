import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { closeAllClients, collect, connectClient, type HubClient, nextEvent, request, serviceToken, until, userToken } from "@hub/devkit";
import type { CallInitiateOk, HuddleCreateOk, SubscribeOk } from "@hub/events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metricSum } from "./gateway-metrics.js";
import { type HubFixture, redisHub } from "./hub-fixture.js";
import { type PushEndpoint, startPushEndpoint } from "./push-endpoint.js";

type Failure = { ok: false; error: { code: string; message: string } };

const RING_MS = 1_000;
const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

/** The backend behind AUTHZ_URL: allows action `call` to the callees in `callees`; `down` resets every connection. */
async function startCallBackend() {
  const state = { callees: new Set<string>(), down: false };
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    if (state.down) return void req.socket.destroy();
    const question = JSON.parse(body) as { action: string; callee_id?: string; org_id: string };
    const allow = question.action === "call" && state.callees.has(`${question.org_id}/${question.callee_id}`);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ allow }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/authz`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Calls and huddles under attack (docs/protocol.md "Calls", "Huddles"): tenants that share user ids,
 * guessed ids, garbage and floods, races at the edges of each state, the HTTP routes, the backend
 * check and the push hook. Two gateways on one Redis.
 */
describe("calls and huddles, hardened", () => {
  let hub: HubFixture;
  let backend: Awaited<ReturnType<typeof startCallBackend>>;
  let endpoint: PushEndpoint;
  let first: string;
  let last: string;

  beforeAll(async () => {
    backend = await startCallBackend();
    endpoint = await startPushEndpoint();
    hub = await redisHub(2, {
      CALL_RING_TIMEOUT_MS: String(RING_MS),
      HUDDLE_GRACE_MS: "500",
      HUDDLE_MAX_PARTICIPANTS: "3",
      AUTHZ_URL: backend.url,
      AUTHZ_CACHE_MS: "0",
      AUTHZ_TIMEOUT_MS: "1000",
      PUSH_WEBHOOK_URL: endpoint.url,
      PUSH_RETRY_BASE_MS: "50",
      PUSH_TIMEOUT_MS: "1000",
      // The default budget (the test kit lifts it): a flood is refused past it.
      REQUEST_RATE_PER_SECOND: "100",
      CLIENT_PUBLISH_RATE: "20",
      CLIENT_PUBLISH_BURST: "40",
    });
    first = hub.gateways[0]?.url as string;
    last = hub.gateways.at(-1)?.url as string;
  });
  afterAll(async () => {
    closeAllClients();
    await hub?.close();
    await endpoint?.close();
    await backend?.close();
  });
  afterEach(() => {
    closeAllClients();
    backend.state.down = false;
  });

  async function user(sub: string, url: string, org = "o1"): Promise<HubClient> {
    const socket = await connectClient(url, await userToken({ sub, org_id: org }));
    expect(await request<SubscribeOk>(socket, "subscribe", { topic: `webrtc:${sub}` })).toMatchObject({ ok: true });
    return socket;
  }

  async function service(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${first}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${await serviceToken()}`, "content-type": "application/json", ...init.headers },
    });
  }

  const callState = async (callId: string) => (await (await service(`/api/v1/calls/${callId}`)).json()) as { status: string };

  describe("tenancy", () => {
    it("a user of o2 with the same ids learns nothing of, acts on nothing of, and hears nothing of an o1 call", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      // The same users in o2, each subscribed to their own webrtc topic.
      const alice2 = await user(a, last, "o2");
      const bob2 = await user(b, first, "o2");
      const heard = [...collect(alice2, "call:incoming"), ...collect(bob2, "call:incoming")];
      const heardAll = ["call:incoming", "call:answered", "webrtc:offer", "call:toggle-audio", "call:ended"].flatMap((e) => [
        ...collect(alice2, e),
        ...collect(bob2, e),
      ]);
      const incoming = nextEvent(bob, "call:incoming");
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      await incoming;
      for (const [event, payload] of [
        ["call:answer", { call_id: call.call_id }],
        ["call:reject", { call_id: call.call_id }],
        ["call:end", { call_id: call.call_id }],
        ["call:toggle-audio", { call_id: call.call_id, enabled: false }],
      ] as const) {
        expect(await request<Failure>(bob2, event, payload)).toMatchObject({ error: { code: "not_found" } });
        expect(await request<Failure>(alice2, event, payload)).toMatchObject({ error: { code: "not_found" } });
      }
      for (const event of ["webrtc:offer", "webrtc:answer", "webrtc:ice-candidate"]) {
        expect(await request<Failure>(bob2, event, { call_id: call.call_id, sdp: "x" })).toMatchObject({ error: { code: "forbidden" } });
      }
      // Reusing the o1 call id from o2 is refused, and creates nothing.
      expect(await request<Failure>(alice2, "call:initiate", { to: b, media: "audio", call_id: call.call_id })).toMatchObject({
        error: { code: "id_conflict" },
      });
      // Another user's webrtc topic, in either org.
      expect(await request<Failure>(alice2, "subscribe", { topic: `webrtc:${b}` })).toMatchObject({ error: { code: "forbidden" } });
      expect(await request<Failure>(alice, "subscribe", { topic: `webrtc:${b}` })).toMatchObject({ error: { code: "forbidden" } });

      const answered = nextEvent(alice, "call:answered");
      await request(bob, "call:answer", { call_id: call.call_id });
      await answered;
      const offer = nextEvent(bob, "webrtc:offer");
      await request(alice, "webrtc:offer", { call_id: call.call_id, sdp: "v=0" });
      await offer;
      const ended = nextEvent(bob, "call:ended");
      await request(alice, "call:end", { call_id: call.call_id });
      await ended;
      // HTTP with o2's org: no such call.
      expect((await service(`/api/v1/calls/${call.call_id}?org_id=o2`)).status).toBe(404);
      expect((await service(`/api/v1/calls/${call.call_id}?org_id=o1`)).status).toBe(200);
      expect(heard).toEqual([]);
      expect(heardAll).toEqual([]);
    });

    it("a user of o2 cannot join, act on, subscribe to or be told about an o1 huddle", async () => {
      const conversation = unique("conv");
      const ann = unique("ann");
      const o1 = await connectClient(first, await userToken({ sub: ann, org_id: "o1" }));
      const o2 = await connectClient(last, await userToken({ sub: ann, org_id: "o2" }));
      const created = await request<HuddleCreateOk>(o1, "huddle:create", { conversation_id: conversation });
      await request(o1, "huddle:join", { huddle_id: created.huddle_id });
      // The same conversation id in o2 is another conversation: another huddle.
      const theirs = await request<HuddleCreateOk>(o2, "huddle:create", { conversation_id: conversation });
      expect(theirs).toMatchObject({ ok: true, created: true });
      expect(theirs.huddle_id).not.toBe(created.huddle_id);
      const heard = collect(o2, "huddle:message:new");
      for (const [event, payload] of [
        ["huddle:join", { huddle_id: created.huddle_id }],
        ["huddle:leave", { huddle_id: created.huddle_id }],
        ["huddle:toggle-screen", { huddle_id: created.huddle_id, enabled: true }],
        ["huddle:message", { huddle_id: created.huddle_id, text: "hi" }],
        ["huddle:invite", { huddle_id: created.huddle_id, user_ids: [ann] }],
      ] as const) {
        expect(await request<Failure>(o2, event, payload)).toMatchObject({ error: { code: "forbidden" } });
      }
      expect(await request<Failure>(o2, "subscribe", { topic: `huddle:${created.huddle_id}` })).toMatchObject({
        error: { code: "forbidden" },
      });
      // A guessed id of the same conversation key: not found.
      const guessed = `${created.huddle_id.slice(0, 22)}.AAAAAAAA`;
      expect(await request<Failure>(o1, "huddle:join", { huddle_id: guessed })).toMatchObject({ error: { code: "not_found" } });
      const said = nextEvent(o1, "huddle:message:new");
      await request(o1, "huddle:message", { huddle_id: created.huddle_id, text: "o1 only" });
      await said;
      expect(heard).toEqual([]);
      expect((await service(`/api/v1/huddles/${created.huddle_id}?org_id=o2`)).status).toBe(404);
      const participants = (await (await service(`/api/v1/huddles/${created.huddle_id}`)).json()) as { participants: unknown[] };
      expect(participants.participants).toHaveLength(1);
    });
  });

  describe("races", () => {
    it("one caller's two tabs initiating at once to two callees: at most one call rings, the other is call_in_progress", async () => {
      for (let round = 0; round < 6; round++) {
        const [a, b, c] = [unique("alice"), unique("bob"), unique("carol")];
        const tab1 = await user(a, first);
        const tab2 = await user(a, last);
        await user(b, first);
        await user(c, last);
        const answers = await Promise.all([
          request<CallInitiateOk | Failure>(tab1, "call:initiate", { to: b, media: "audio" }),
          request<CallInitiateOk | Failure>(tab2, "call:initiate", { to: c, media: "audio" }),
        ]);
        const rung = answers.filter((x) => x.ok);
        expect(rung, JSON.stringify(answers)).toHaveLength(1);
        expect(answers.find((x) => !x.ok)).toMatchObject({ error: { code: "call_in_progress" } });
      }
    });

    it("a call:initiate retried while the first is in flight (same call_id): both are answered with the call, which rings once", async () => {
      for (let round = 0; round < 6; round++) {
        const [a, b] = [unique("alice"), unique("bob")];
        const tab1 = await user(a, first);
        const tab2 = await user(a, last);
        const bob = await user(b, first);
        const incoming = collect(bob, "call:incoming");
        const call_id = unique("call");
        const answers = await Promise.all([
          request<CallInitiateOk | Failure>(tab1, "call:initiate", { to: b, media: "audio", call_id }),
          request<CallInitiateOk | Failure>(tab2, "call:initiate", { to: b, media: "audio", call_id }),
        ]);
        expect(answers, JSON.stringify(answers)).toEqual([
          { ok: true, call_id },
          { ok: true, call_id },
        ]);
        expect((await callState(call_id)).status).toBe("ringing");
        await until("the call to ring", async () => incoming.length > 0);
        expect(incoming).toHaveLength(1);
      }
    });

    it("a callee whose connection closes while its call:answer is applied: the call ends, it is not left active", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const { call_id } = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      const ended = nextEvent(alice, "call:ended");
      (bob as unknown as { emit(event: string, payload: unknown, ack: () => void): void }).emit("call:answer", { call_id }, () => {});
      bob.disconnect();
      expect((await ended).data).toMatchObject({ call_id, by: b, reason: "disconnected" });
      expect((await callState(call_id)).status).toBe("completed");
    });

    it("a user calling out while being called: never on two live calls", async () => {
      for (let round = 0; round < 6; round++) {
        const [a, b, c] = [unique("alice"), unique("bob"), unique("carol")];
        const alice = await user(a, first);
        await user(b, last);
        const carol = await user(c, last);
        const [out, inbound] = await Promise.all([
          request<CallInitiateOk | Failure>(alice, "call:initiate", { to: b, media: "audio" }),
          request<CallInitiateOk | Failure>(carol, "call:initiate", { to: a, media: "audio" }),
        ]);
        const live = [];
        for (const answer of [out, inbound]) {
          if (answer.ok && !answer.busy && (await callState(answer.call_id)).status === "ringing") live.push(answer.call_id);
        }
        expect(live.length, JSON.stringify([out, inbound])).toBeLessThanOrEqual(1);
      }
    });

    it("two tabs of the callee answering at once: exactly one answers, the other is refused", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const tab1 = await user(b, first);
      const tab2 = await user(b, last);
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      const answered = collect(alice, "call:answered");
      const answers = await Promise.all([
        request<{ ok: boolean }>(tab1, "call:answer", { call_id: call.call_id }),
        request<{ ok: boolean }>(tab2, "call:answer", { call_id: call.call_id }),
      ]);
      expect(answers.filter((x) => x.ok)).toHaveLength(1);
      expect(answers.find((x) => !x.ok)).toMatchObject({ error: { code: "bad_request" } });
      await until("the caller is told", () => answered.length > 0);
      expect((await callState(call.call_id)).status).toBe("active");
      const ended = nextEvent(alice, "call:ended");
      await request(tab1.connected ? tab1 : tab2, "call:end", { call_id: call.call_id });
      await ended;
      expect(answered).toHaveLength(1);
    });

    it("an answer sent right at the ring deadline: answered or missed, never both, as the call's state says", async () => {
      for (let round = 0; round < 4; round++) {
        const [a, b] = [unique("alice"), unique("bob")];
        const alice = await user(a, first);
        const bob = await user(b, last);
        const seen = ["call:answered", "call:missed"].flatMap((e) => [collect(alice, e), collect(bob, e)]);
        const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
        const { ring_deadline } = (await (await service(`/api/v1/calls/${call.call_id}`)).json()) as { ring_deadline: number };
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, ring_deadline - Date.now() - 5 + round * 5)));
        const answer = await request<{ ok: boolean } | Failure>(bob, "call:answer", { call_id: call.call_id });
        const settled = await until("both parties hear the outcome", () => seen.filter((s) => s.length > 0).length >= 2 && seen);
        const [answeredA, answeredB, missedA, missedB] = settled.map((s) => s.length);
        const status = (await callState(call.call_id)).status;
        if (answer.ok) {
          expect([status, answeredA, answeredB, missedA, missedB]).toEqual(["active", 1, 1, 0, 0]);
          await request(alice, "call:end", { call_id: call.call_id });
        } else {
          expect([status, answeredA, answeredB, missedA, missedB]).toEqual(["missed", 0, 0, 1, 1]);
        }
      }
    });

    it("end racing answer: the call ends exactly once and is completed", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      const ended = collect(bob, "call:ended");
      const [end, answer] = await Promise.all([
        request<{ ok: boolean }>(alice, "call:end", { call_id: call.call_id }),
        request<{ ok: boolean }>(bob, "call:answer", { call_id: call.call_id }),
      ]);
      expect(end.ok).toBe(true);
      await until("bob hears the end", () => ended.length > 0);
      expect((await callState(call.call_id)).status).toBe("completed");
      expect(ended).toHaveLength(1);
      // The answer either came first (then the end ended the active call) or was refused.
      if (!answer.ok) expect(answer).toMatchObject({ error: { code: "bad_request" } });
    });

    it("two users joining the last slot at once: the cap holds; two screen shares at once: one wins", async () => {
      const conversation = unique("conv");
      const names = [unique("a"), unique("b"), unique("c"), unique("d")];
      const sockets = await Promise.all(
        names.map(async (n, i) => connectClient(i % 2 ? last : first, await userToken({ sub: n, org_id: "o1" }))),
      );
      const [s1, s2, s3, s4] = sockets as [HubClient, HubClient, HubClient, HubClient];
      const { huddle_id } = await request<HuddleCreateOk>(s1, "huddle:create", { conversation_id: conversation });
      await request(s1, "huddle:join", { huddle_id });
      await request(s2, "huddle:join", { huddle_id });
      const joins = await Promise.all([s3, s4].map((s) => request<{ ok: boolean } | Failure>(s, "huddle:join", { huddle_id })));
      expect(joins.filter((j) => j.ok)).toHaveLength(1);
      expect(joins.find((j) => !j.ok)).toMatchObject({ error: { code: "huddle_full" } });
      const shares = await Promise.all(
        [s1, s2].map((s) => request<{ ok: boolean } | Failure>(s, "huddle:toggle-screen", { huddle_id, enabled: true })),
      );
      expect(shares.filter((x) => x.ok)).toHaveLength(1);
      expect(shares.find((x) => !x.ok)).toMatchObject({ error: { code: "screen_share_taken" } });
      const huddle = (await (await service(`/api/v1/huddles/${huddle_id}`)).json()) as {
        participants: { screen: boolean }[];
        screen: string;
      };
      expect(huddle.participants).toHaveLength(3);
      expect(huddle.participants.filter((p) => p.screen)).toHaveLength(1);
    });
  });

  describe("bad input and floods", () => {
    it("refuses malformed call and huddle requests with bad_request, and relays signals up to the message size", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const bad: [string, unknown][] = [
        ["call:initiate", {}],
        ["call:initiate", { to: b }],
        ["call:initiate", { to: b, media: "hologram" }],
        ["call:initiate", { to: { $ne: 1 }, media: "audio" }],
        ["call:initiate", { to: "x".repeat(300), media: "audio" }],
        ["call:initiate", { to: "a/b", media: "audio" }],
        ["call:initiate", { to: b, media: "audio", call_id: "x".repeat(65) }],
        ["call:initiate", { to: b, media: "audio", call_id: "../../etc" }],
        ["call:initiate", "nope"],
        ["call:answer", {}],
        ["call:answer", { call_id: 7 }],
        ["call:end", { call_id: "" }],
        ["call:toggle-audio", { call_id: "c1", enabled: "yes" }],
        ["webrtc:offer", {}],
        ["webrtc:offer", { call_id: ["x"] }],
        ["huddle:create", {}],
        ["huddle:create", { conversation_id: "c", max: 1 }],
        ["huddle:create", { conversation_id: "c", max: 1e9 }],
        ["huddle:join", { huddle_id: null }],
        ["huddle:message", { huddle_id: "h", text: "" }],
        ["huddle:message", { huddle_id: "h", text: "x".repeat(4001) }],
        ["huddle:invite", { huddle_id: "h", user_ids: [] }],
        ["huddle:invite", { huddle_id: "h", user_ids: Array.from({ length: 51 }, (_, i) => `u${i}`) }],
        ["huddle:raise-hand", { huddle_id: "h", enabled: true }],
      ];
      for (const [event, payload] of bad) {
        expect(await request<Failure>(alice, event, payload), `${event} ${JSON.stringify(payload).slice(0, 80)}`).toMatchObject({
          ok: false,
          error: { code: "bad_request" },
        });
      }
      // Ids that pass the schema but name nothing.
      expect(await request<Failure>(alice, "call:answer", { call_id: "nope" })).toMatchObject({ error: { code: "not_found" } });
      expect(await request<Failure>(alice, "huddle:join", { huddle_id: "nope" })).toMatchObject({ error: { code: "not_found" } });
      expect(await request<Failure>(alice, "webrtc:offer", { call_id: "nope", sdp: "x" })).toMatchObject({ error: { code: "forbidden" } });

      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "video" });
      await request(bob, "call:answer", { call_id: call.call_id });
      const big = "a".repeat(60_000);
      const offer = nextEvent(bob, "webrtc:offer");
      expect(await request(alice, "webrtc:offer", { call_id: call.call_id, sdp: big })).toEqual({ ok: true, call_id: call.call_id });
      expect(((await offer).data as { sdp: string }).sdp).toHaveLength(60_000);
      const candidate = nextEvent(alice, "webrtc:ice-candidate");
      await request(bob, "webrtc:ice-candidate", { call_id: call.call_id, candidate: { blob: big } });
      expect(((await candidate).data as { candidate: { blob: string } }).candidate.blob).toHaveLength(60_000);
      await request(alice, "call:end", { call_id: call.call_id });
    });

    it("10,000 garbage call and huddle requests from one socket: refused and counted, nothing crashes, others' calls go on", async () => {
      const [a, b, m] = [unique("alice"), unique("bob"), unique("mallory")];
      const alice = await user(a, first);
      const bob = await user(b, first);
      const mallory = await user(m, first);
      await user(a === m ? unique("x") : unique("victim"), first);
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      await request(bob, "call:answer", { call_id: call.call_id });
      const rateBefore = await metricSum(hub.gateways[0] as HubFixture["gateways"][0], "hub_limit_refusals_total", 'limit="request_rate"');
      const events = [
        "call:initiate",
        "call:answer",
        "call:end",
        "webrtc:offer",
        "huddle:join",
        "huddle:message",
        "huddle:toggle-screen",
        "call:bogus",
      ];
      const answers = await Promise.all(
        Array.from({ length: 10_000 }, (_, i) => {
          const event = events[i % events.length] as string;
          const payload =
            i % 3 === 0 ? { call_id: call.call_id, huddle_id: "x", text: "t", enabled: true, to: b, media: "audio" } : { junk: i };
          return request<Failure | { ok: true }>(mallory, event, payload).catch(() => ({
            ok: false,
            error: { code: "timeout", message: "" },
          }));
        }),
      );
      const codes = new Map<string, number>();
      for (const answer of answers) if (!answer.ok) codes.set(answer.error.code, (codes.get(answer.error.code) ?? 0) + 1);
      expect(codes.get("internal"), JSON.stringify([...codes])).toBeUndefined();
      expect(codes.get("timeout")).toBeUndefined();
      expect(codes.get("rate_limited") ?? 0).toBeGreaterThan(8_000);
      for (const code of codes.keys()) expect(["rate_limited", "bad_request", "forbidden", "not_found", "id_conflict"]).toContain(code);
      const rateAfter = await metricSum(hub.gateways[0] as HubFixture["gateways"][0], "hub_limit_refusals_total", 'limit="request_rate"');
      expect(rateAfter - rateBefore).toBeGreaterThanOrEqual(codes.get("rate_limited") ?? 0);
      // Mallory acted on nothing of theirs: the call is untouched and still relays.
      expect((await callState(call.call_id)).status).toBe("active");
      const offer = nextEvent(bob, "webrtc:offer");
      await request(alice, "webrtc:offer", { call_id: call.call_id, sdp: "v=0" });
      expect((await offer).data).toMatchObject({ from: a });
      expect((await fetch(`${first}/healthz`)).status).toBeLessThan(500);
      await request(alice, "call:end", { call_id: call.call_id });
    });
  });

  describe("per-user limits", () => {
    it("call:initiate from one user over several connections is charged to the user's publication rate: a busy-call flood is refused", async () => {
      const [a, b, c] = [unique("alice"), unique("bob"), unique("mallory")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      await request(bob, "call:answer", { call_id: call.call_id });
      const tabs = await Promise.all([user(c, first), user(c, last), user(c, first)]);
      const gateways = hub.gateways as HubFixture["gateways"];
      const refusals = async () =>
        (await Promise.all(gateways.map((g) => metricSum(g, "hub_limit_refusals_total", 'limit="client_publish_rate"')))).reduce(
          (x, y) => x + y,
        );
      const before = await refusals();
      const answers = await Promise.all(
        tabs.flatMap((tab) =>
          Array.from({ length: 50 }, () => request<CallInitiateOk | Failure>(tab, "call:initiate", { to: b, media: "audio" })),
        ),
      );
      const placed = answers.filter((x) => x.ok);
      const limited = answers.filter((x) => !x.ok && x.error.code === "rate_limited");
      // Charged: placed (busy) and those that raced the user's own call being placed (call_in_progress).
      const charged = answers.filter((x) => x.ok || x.error.code === "call_in_progress");
      expect(charged.length).toBeLessThanOrEqual(70);
      expect(placed.every((x) => x.ok && x.busy)).toBe(true);
      expect(limited.length).toBe(150 - charged.length);
      expect((await refusals()) - before).toBe(limited.length);
      // A huddle invitation of 50 users fits the budget (0.1 each) once it refills.
      const [ann] = [unique("ann")];
      const inviter = await connectClient(first, await userToken({ sub: ann, org_id: "o1" }));
      const { huddle_id } = await request<HuddleCreateOk>(inviter, "huddle:create", { conversation_id: unique("conv") });
      await request(inviter, "huddle:join", { huddle_id });
      const fifty = Array.from({ length: 50 }, (_, i) => `${ann}-${i}`);
      expect(await request(inviter, "huddle:invite", { huddle_id, user_ids: fifty })).toMatchObject({ ok: true });
      await request(alice, "call:end", { call_id: call.call_id });
    });
  });

  describe("huddle leave and disconnect", () => {
    it("leaving from one tab while another tab of the same user is in the huddle: no socket hears a huddle its user is not in", async () => {
      const conversation = unique("conv");
      const [u, v] = [unique("ann"), unique("ben")];
      const tab1 = await connectClient(first, await userToken({ sub: u, org_id: "o1" }));
      const tab2 = await connectClient(last, await userToken({ sub: u, org_id: "o1" }));
      const ben = await connectClient(first, await userToken({ sub: v, org_id: "o1" }));
      const { huddle_id } = await request<HuddleCreateOk>(ben, "huddle:create", { conversation_id: conversation });
      await request(ben, "huddle:join", { huddle_id });
      await request(tab1, "huddle:join", { huddle_id });
      await request(tab2, "huddle:join", { huddle_id });
      const leftEvents = collect(ben, "huddle:participant:left");
      expect(await request(tab1, "huddle:leave", { huddle_id })).toMatchObject({ ok: true });
      const stillHearing = nextEvent(tab2, "huddle:message:new");
      const tab1Heard = collect(tab1, "huddle:message:new");
      const said = nextEvent(ben, "huddle:message:new");
      await request(ben, "huddle:message", { huddle_id, text: "who is here?" });
      await said;
      await stillHearing;
      // Tab 2 hears the huddle: its user must still be in it.
      const huddle = (await (await service(`/api/v1/huddles/${huddle_id}`)).json()) as { participants: { user_id: string }[] };
      expect(huddle.participants.map((p) => p.user_id).sort()).toEqual([u, v].sort());
      expect(leftEvents).toEqual([]);
      expect(tab1Heard).toEqual([]);
      // The last tab out: the user leaves.
      const left = nextEvent(ben, "huddle:participant:left");
      await request(tab2, "huddle:leave", { huddle_id });
      expect((await left).data).toEqual({ huddle_id, user_id: u });
    });

    it("a participant whose socket dies is away, then leaves after the grace period; back within it on a new socket, never leaves", async () => {
      const conversation = unique("conv");
      const [u, v, w] = [unique("ann"), unique("ben"), unique("cat")];
      const ann = await connectClient(first, await userToken({ sub: u, org_id: "o1" }));
      const ben = await connectClient(last, await userToken({ sub: v, org_id: "o1" }));
      const cat = await connectClient(first, await userToken({ sub: w, org_id: "o1" }));
      const { huddle_id } = await request<HuddleCreateOk>(ann, "huddle:create", { conversation_id: conversation });
      for (const s of [ann, ben, cat]) await request(s, "huddle:join", { huddle_id });
      const left = collect(ann, "huddle:participant:left");
      const benLeft = nextEvent(ann, "huddle:participant:left");
      ben.disconnect();
      const away = await until("ben is away", async () => {
        const h = (await (await service(`/api/v1/huddles/${huddle_id}`)).json()) as { participants: { user_id: string; away: boolean }[] };
        return h.participants.find((p) => p.user_id === v && p.away);
      });
      expect(away).toMatchObject({ user_id: v, away: true });
      expect((await benLeft).data).toEqual({ huddle_id, user_id: v });
      // Cat's socket dies and comes back on a new socket within the grace period.
      cat.disconnect();
      await until("cat is away", async () => {
        const h = (await (await service(`/api/v1/huddles/${huddle_id}`)).json()) as { participants: { user_id: string; away: boolean }[] };
        return h.participants.some((p) => p.user_id === w && p.away);
      });
      const back = await connectClient(last, await userToken({ sub: w, org_id: "o1" }));
      const rejoined = await request<{ ok: boolean; participants: { user_id: string; away: boolean }[] }>(back, "huddle:join", {
        huddle_id,
      });
      expect(rejoined.participants.find((p) => p.user_id === w)).toMatchObject({ away: false });
      // Past the grace period (500 ms): a message round trip later, cat never left.
      await new Promise((resolve) => setTimeout(resolve, 700));
      const said = nextEvent(back, "huddle:message:new");
      await request(ann, "huddle:message", { huddle_id, text: "still here?" });
      await said;
      expect(left.map((e) => (e.data as { user_id: string }).user_id)).toEqual([v]);
    });
  });

  describe("HTTP routes", () => {
    it("need a service token, answer 404 for unknown or another org's ids, 400 for bad bodies; POST /huddles is idempotent", async () => {
      const user = await userToken({ sub: "u1", org_id: "o1" });
      const conversation = unique("conv");
      for (const [method, path] of [
        ["GET", "/api/v1/calls/abc"],
        ["POST", "/api/v1/huddles"],
        ["GET", "/api/v1/huddles/abc"],
        ["POST", "/api/v1/huddles/abc/invite"],
      ] as const) {
        const body = method === "POST" ? JSON.stringify({ org_id: "o1", conversation_id: conversation, user_ids: ["u"] }) : undefined;
        const withBody = body === undefined ? {} : { body };
        const anonymous = await fetch(`${first}${path}`, { method, ...withBody, headers: { "content-type": "application/json" } });
        expect(anonymous.status, `${method} ${path}`).toBe(401);
        const asUser = await fetch(`${first}${path}`, {
          method,
          ...withBody,
          headers: { "content-type": "application/json", authorization: `Bearer ${user}` },
        });
        expect([401, 403], `${method} ${path} as a user`).toContain(asUser.status);
      }
      expect((await service("/api/v1/calls/nope")).status).toBe(404);
      expect((await service("/api/v1/calls/nope?org_id=bad%20id")).status).toBe(400);
      expect((await service("/api/v1/huddles/nope")).status).toBe(404);

      for (const body of [
        "[]",
        "not json",
        JSON.stringify({ conversation_id: "c" }),
        JSON.stringify({ org_id: "o1" }),
        JSON.stringify({ org_id: "o1", conversation_id: "a/b" }),
        JSON.stringify({ org_id: "o1", conversation_id: "c", max: 1 }),
        JSON.stringify({ org_id: "o1", conversation_id: "c", max: "5" }),
        JSON.stringify({ org_id: "o1", conversation_id: "c", created_by: {} }),
      ]) {
        expect((await service("/api/v1/huddles", { method: "POST", body })).status, body).toBe(400);
      }
      const create = () =>
        service("/api/v1/huddles", { method: "POST", body: JSON.stringify({ org_id: "o1", conversation_id: conversation }) });
      const [one, two] = await Promise.all([create(), create()]);
      const bodies = [(await one.json()) as { huddle_id: string }, (await two.json()) as { huddle_id: string }];
      expect([one.status, two.status].sort()).toEqual([200, 201]);
      expect(bodies[0]?.huddle_id).toBe(bodies[1]?.huddle_id);
      const huddleId = bodies[0]?.huddle_id as string;
      // Another org's conversation of the same id: its own huddle; another org reading this one: 404.
      const theirs = await service("/api/v1/huddles", {
        method: "POST",
        body: JSON.stringify({ org_id: "o2", conversation_id: conversation }),
      });
      expect(theirs.status).toBe(201);
      expect(((await theirs.json()) as { huddle_id: string }).huddle_id).not.toBe(huddleId);
      expect((await service(`/api/v1/huddles/${huddleId}?org_id=o2`)).status).toBe(404);

      const invite = (id: string, body: unknown) => service(`/api/v1/huddles/${id}/invite`, { method: "POST", body: JSON.stringify(body) });
      for (const body of [
        { org_id: "o1" },
        { org_id: "o1", user_ids: [] },
        { org_id: "o1", user_ids: "u1" },
        { org_id: "o1", user_ids: ["a/b"] },
        { org_id: "o1", user_ids: Array.from({ length: 51 }, (_, i) => `u${i}`) },
        { user_ids: ["u1"] },
      ]) {
        expect((await invite(huddleId, body)).status, JSON.stringify(body).slice(0, 60)).toBe(400);
      }
      expect((await invite("nope", { org_id: "o1", user_ids: ["u1"] })).status).toBe(404);
      expect((await invite(`${huddleId.slice(0, 22)}.AAAAAAAA`, { org_id: "o1", user_ids: ["u1"] })).status).toBe(404);
      // Another org inviting into this huddle: refused, nobody is told.
      expect([403, 404]).toContain((await invite(huddleId, { org_id: "o2", user_ids: ["u1"] })).status);
      expect((await invite(huddleId, { org_id: "o1", user_ids: ["u1", 42] })).status).toBe(202);
    });
  });

  describe("backend check and push hook", () => {
    it("AUTHZ_URL: allow rings an offline callee and pushes `call`, then `call_missed`; deny is not_found; a backend down is unavailable", async () => {
      const [a, b] = [unique("alice"), unique("bob")];
      const alice = await user(a, first);
      backend.state.callees.add(`o1/${b}`);
      const missed = nextEvent(alice, "call:missed");
      const call = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "video" });
      expect(call).toMatchObject({ ok: true });
      expect(call.busy).toBeUndefined();
      await missed;
      const pushed = await until("both pushes arrive", () => {
        const kinds = endpoint.to(b).map((p) => p.kind);
        return kinds.includes("call") && kinds.includes("call_missed") && endpoint.to(b);
      });
      expect(pushed.map((p) => p.kind).sort()).toEqual(["call", "call_missed"]);
      expect(endpoint.to(a)).toEqual([]);
      expect(await callState(call.call_id)).toMatchObject({ status: "missed" });

      // The same user id in o2 is not allowed: not found; no call, no push.
      const alice2 = await user(a, last, "o2");
      expect(await request<Failure>(alice2, "call:initiate", { to: b, media: "audio" })).toMatchObject({ error: { code: "not_found" } });
      expect(await request<Failure>(alice, "call:initiate", { to: unique("denied"), media: "audio" })).toMatchObject({
        error: { code: "not_found" },
      });
      backend.state.down = true;
      expect(await request<Failure>(alice, "call:initiate", { to: unique("nobody"), media: "audio" })).toMatchObject({
        error: { code: "unavailable" },
      });
      backend.state.down = false;
      // A failed check left the caller's line free.
      const again = await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      expect(again).toMatchObject({ ok: true });
      await request(alice, "call:end", { call_id: again.call_id });
    });

    it("pushes huddle_invite to an offline invitee only, and nothing for connected callees or invitees", async () => {
      const [a, b, c, d] = [unique("alice"), unique("bob"), unique("carol"), unique("dave")];
      const alice = await user(a, first);
      const bob = await user(b, last);
      await request(bob, "subscribe", { topic: `notifications:${b}` });
      const missed = nextEvent(bob, "call:missed");
      await request<CallInitiateOk>(alice, "call:initiate", { to: b, media: "audio" });
      await missed;
      const { huddle_id } = await request<HuddleCreateOk>(alice, "huddle:create", { conversation_id: unique("conv") });
      await request(alice, "huddle:join", { huddle_id });
      const invited = nextEvent(bob, "huddle:invited");
      await request(alice, "huddle:invite", { huddle_id, user_ids: [b, c] });
      await invited;
      const toCarol = await until("carol is pushed", () => endpoint.to(c).length > 0 && endpoint.to(c));
      expect(toCarol.map((p) => p.kind)).toEqual(["huddle_invite"]);
      // A push to a third offline user afterwards: the hook has caught up; bob, connected, got none.
      await request(alice, "huddle:invite", { huddle_id, user_ids: [d] });
      await until("dave is pushed", () => endpoint.to(d).length > 0);
      expect(endpoint.to(b)).toEqual([]);
      expect(endpoint.to(a)).toEqual([]);
    });
  });
});
