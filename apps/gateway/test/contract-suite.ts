import { closeAllClients, collect, connectClient, type HubClient, nextEvent, refusal, request, serviceToken, userToken } from "@hub/devkit";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type HubFixture, httpPublish } from "./hub-fixture.js";

/** Settings the suite's gateways run with, so limits can be reached in a test. */
export const CONTRACT_ENV = {
  MAX_SUBSCRIPTIONS_PER_SOCKET: "5",
  // A namespace without history, for the ack's position on such a topic.
  HUB_NAMESPACES: JSON.stringify([{ name: "lobby", scope: "authenticated", history: null }]),
};

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Publishes `event`, then a sentinel on `org:o1` (the client must be in it); once the sentinel is in, any copy of `event` is too. */
async function publishThenSentinel(hub: HubFixture, client: HubClient, event: Parameters<HubFixture["publish"]>[0]) {
  const sentinelId = `sentinel-${Math.random().toString(36).slice(2)}`;
  const arrived = nextEvent(client, "player.sentinel_probe", sentinelId);
  await hub.publish(event);
  await hub.publish({ id: sentinelId, type: "player.sentinel_probe", org_id: "o1", payload: {} });
  return arrived;
}

/**
 * The contract every engine must honour (docs/protocol.md "Tokens", "Topics and namespaces",
 * "Client -> server events", "Routing table", "HTTP routes"). Registered once per engine.
 */
export function contractSuite(name: string, start: () => Promise<HubFixture>): void {
  describe(`hub contract (${name})`, () => {
    let hub: HubFixture;
    let url: string;
    /** Where producers reach the hub over HTTP; another node than `url` when there are several. */
    let ingressUrl: string;

    beforeAll(async () => {
      hub = await start();
      url = hub.gateways.at(-1)?.url as string;
      ingressUrl = hub.gateways[0]?.url as string;
    });
    afterAll(async () => {
      await hub?.close();
    });
    afterEach(() => closeAllClients());

    const user = (sub = "u1", org = "o1", expiresIn?: number) =>
      userToken({ sub, org_id: org }, expiresIn === undefined ? {} : { expiresIn });
    const connectUser = async (sub = "u1", org = "o1") => connectClient(url, await user(sub, org));

    describe("handshake", () => {
      it("refuses a connection without a token: token_missing", async () => {
        const error = await refusal(url, {});
        expect(error.message).toBe("unauthorized");
        expect(error.data).toMatchObject({ code: "token_missing" });
      });

      it("refuses a malformed token: token_invalid", async () => {
        expect((await refusal(url, { token: "not-a-jwt" })).data).toMatchObject({ code: "token_invalid" });
        expect((await refusal(url, { token: 42 })).data).toMatchObject({ code: "token_invalid" });
      });

      it("refuses a token signed with another secret: token_invalid", async () => {
        const forged = await userToken({ sub: "u1", org_id: "o1" }, { secret: "someone-elses-secret-0123456789abcdef" });
        expect((await refusal(url, { token: forged })).data).toMatchObject({ code: "token_invalid" });
      });

      it("refuses an expired token: token_expired", async () => {
        expect((await refusal(url, { token: await user("u1", "o1", -60) })).data).toMatchObject({ code: "token_expired" });
      });

      it("refuses alg none", async () => {
        const exp = Math.floor(Date.now() / 1000) + 3600;
        const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "u1", org_id: "o1", exp })}.`;
        expect((await refusal(url, { token: unsigned })).data).toMatchObject({ code: "token_invalid" });
      });

      it("refuses a user token without org_id", async () => {
        const token = await new SignJWT({ sub: "u1" })
          .setProtectedHeader({ alg: "HS256" })
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode("test-user-secret-0123456789abcdef0123"));
        expect((await refusal(url, { token })).data).toMatchObject({ code: "token_invalid" });
      });

      it("accepts user and service tokens", async () => {
        expect((await connectUser()).connected).toBe(true);
        expect((await connectClient(url, await serviceToken())).connected).toBe(true);
      });

      it.each([
        ["an Auth0 id", "auth0|abc"],
        ["an email", "jane.doe@example.com"],
      ])("accepts a sub that is %s; topics built from it are invalid_topic, the others work", async (_label, sub) => {
        const client = await connectUser(sub, "o1");
        expect(client.connected).toBe(true);
        for (const topic of ["tournament:x", "org:o1"]) {
          expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: true, topic });
        }
        expect(await request(client, "subscribe", { topic: `notifications:${sub}` })).toMatchObject({
          ok: false,
          error: { code: "invalid_topic" },
        });
        // Queues key on ids: refused, not written with a user id they cannot hold.
        expect(await request(client, "inhouse.join", { queue_id: "q1" })).toMatchObject({ ok: false, error: { code: "forbidden" } });
        expect(client.connected).toBe(true);
      });

      it("accepts an org_id that is not an id; its org topics are invalid_topic, tournaments work", async () => {
        const client = await connectUser("u1", "acme|eu");
        expect(await request(client, "subscribe", { topic: "tournament:x" })).toMatchObject({ ok: true });
        expect(await request(client, "subscribe", { topic: "notifications:u1" })).toMatchObject({ ok: true });
        for (const topic of ["org:acme|eu", "inhouse:acme|eu"]) {
          expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: false, error: { code: "invalid_topic" } });
        }
        expect(await request(client, "subscribe", { topic: "org:acme" })).toMatchObject({ ok: false, error: { code: "forbidden" } });
      });

      it("refuses a sub with a control character: token_invalid", async () => {
        expect((await refusal(url, { token: await user("u1\nadmin", "o1") })).data).toMatchObject({ code: "token_invalid" });
      });
    });

    describe("subscribe", () => {
      it("lets a user into their own topics and any tournament", async () => {
        const client = await connectUser("u1", "o1");
        for (const topic of ["notifications:u1", "inhouse:o1", "org:o1", "tournament:t9"]) {
          expect(await request(client, "subscribe", { topic })).toEqual({
            ok: true,
            topic,
            epoch: expect.any(String),
            offset: expect.any(Number),
          });
        }
      });

      it("refuses other tenants' and other users' topics: forbidden", async () => {
        const client = await connectUser("u1", "o1");
        for (const topic of ["notifications:u2", "inhouse:o2", "org:o2"]) {
          expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: false, error: { code: "forbidden" } });
        }
      });

      it("lets a service subscribe to every topic", async () => {
        const client = await connectClient(url, await serviceToken());
        // A user id is unique within its org only: a service names the org of a per-user topic.
        for (const body of [{ topic: "notifications:u2", org_id: "o2" }, { topic: "inhouse:o2" }, { topic: "org:o3" }]) {
          expect(await request(client, "subscribe", body)).toEqual({
            ok: true,
            topic: body.topic,
            epoch: expect.any(String),
            offset: expect.any(Number),
          });
        }
        expect(await request(client, "subscribe", { topic: "notifications:u2" })).toMatchObject({
          ok: false,
          error: { code: "bad_request" },
        });
      });

      it('acknowledges a topic without history with epoch "" and offset 0, and recovered: false for a since', async () => {
        const client = await connectUser();
        const ack = { ok: true, topic: "lobby:main", epoch: "", offset: 0 };
        expect(await request(client, "subscribe", { topic: "lobby:main" })).toEqual(ack);
        // Again, while in the topic's room.
        expect(await request(client, "subscribe", { topic: "lobby:main" })).toEqual(ack);
        const other = await connectUser("u2", "o1");
        expect(await request(other, "subscribe", { topic: "lobby:main", since: { offset: 3, epoch: "e" } })).toEqual({
          ...ack,
          recovered: false,
        });
      });

      it("refuses undeclared namespaces and malformed topics", async () => {
        const client = await connectUser();
        expect(await request(client, "subscribe", { topic: "payments:o1" })).toMatchObject({ error: { code: "unknown_namespace" } });
        for (const topic of ["org:", "org", "org:a b", `org:${"x".repeat(300)}`, "org:o1:extra", "ORG:o1"]) {
          expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: false, error: { code: "invalid_topic" } });
        }
      });

      it("answers malformed payloads with bad_request and keeps the connection", async () => {
        const client = await connectUser();
        for (const payload of [undefined, null, "org:o1", 42, [], { topic: 1 }, { topic: "org:o1", since: { offset: -1, epoch: "e" } }]) {
          expect(await request(client, "subscribe", payload)).toMatchObject({ ok: false, error: { code: "bad_request" } });
        }
        expect(await request(client, "subscribe", { topic: "org:o1" })).toEqual({
          ok: true,
          topic: "org:o1",
          epoch: expect.any(String),
          offset: expect.any(Number),
        });
      });

      it("emits error to a socket that sent no ack callback", async () => {
        const client = await connectUser();
        const error = new Promise((resolve) => client.once("error", resolve));
        (client as unknown as { emit(e: string, p: unknown): void }).emit("subscribe", { topic: "org:o2" });
        expect(await error).toMatchObject({ code: "forbidden" });
      });

      it("answers unknown events with bad_request", async () => {
        const client = await connectUser();
        expect(await request(client, "subscribe_everything", {})).toMatchObject({ ok: false, error: { code: "bad_request" } });
      });

      it("limits subscriptions per socket: too_many_subscriptions", async () => {
        const client = await connectUser();
        for (let i = 0; i < 5; i++) expect(await request(client, "subscribe", { topic: `tournament:t${i}` })).toMatchObject({ ok: true });
        expect(await request(client, "subscribe", { topic: "tournament:t5" })).toMatchObject({ error: { code: "too_many_subscriptions" } });
        // Re-subscribing to a topic one is in does not count.
        expect(await request(client, "subscribe", { topic: "tournament:t0" })).toMatchObject({ ok: true });
      });

      it("rate-limits bursts of subscribe requests: rate_limited", async () => {
        const client = await connectUser();
        const replies = await Promise.all(Array.from({ length: 80 }, () => request(client, "subscribe", { topic: "org:o1" })));
        const codes = replies.map((r) => (r as { error?: { code: string } }).error?.code ?? "ok");
        expect(codes).toContain("rate_limited");
        expect(codes).toContain("ok");
      });

      it("unsubscribe stops delivery", async () => {
        const client = await connectUser();
        await request(client, "subscribe", { topic: "org:o1" });
        const seen = collect(client, "roster.player_hired");
        expect(await request(client, "unsubscribe", { topic: "org:o1" })).toEqual({ ok: true, topic: "org:o1" });
        await request(client, "subscribe", { topic: "tournament:sentinel" });
        const sentinel = nextEvent(client, "match_confirmed");
        await hub.publish({ type: "roster.player_hired", org_id: "o1", payload: {} });
        await hub.publish({ type: "tournament_match.confirmed", org_id: "o1", payload: { tournament_id: "sentinel" } });
        await sentinel;
        expect(seen).toHaveLength(0);
        expect(await request(client, "unsubscribe", { topic: 7 })).toMatchObject({ error: { code: "bad_request" } });
      });
    });

    describe("delivery", () => {
      it("delivers the contract envelope, with integer ids normalized", async () => {
        // An event first, so the topic has its epoch (a topic nobody published on acks the empty one).
        await hub.publish({ type: "scrim_request.created", org_id: 42, payload: {} });
        const client = await connectUser("7", "42");
        const { epoch, offset } = await request<{ epoch: string; offset: number }>(client, "subscribe", { topic: "org:42" });
        const arrived = nextEvent(client, "scrim_request.accepted");
        const before = Date.now();
        await hub.publish({ id: "evt-1", type: "scrim_request.accepted", org_id: 42, payload: { scrim_id: 3 } });
        const msg = await arrived;
        expect(msg).toEqual({
          id: "evt-1",
          type: "scrim_request.accepted",
          topic: "org:42",
          org_id: "42",
          data: { scrim_id: 3 },
          ts: msg.ts,
          offset: offset + 1,
          epoch,
        });
        expect(msg.ts).toBeGreaterThanOrEqual(before - 1000);
      });

      it("routes notifications to their recipient only", async () => {
        const alice = await connectUser("alice", "o1");
        const bob = await connectUser("bob", "o1");
        await request(alice, "subscribe", { topic: "notifications:alice" });
        await request(bob, "subscribe", { topic: "notifications:bob" });
        await request(bob, "subscribe", { topic: "tournament:sentinel2" });
        const bobSaw = collect(bob, "notification.created");
        const arrived = nextEvent(alice, "notification.created");
        const sentinel = nextEvent(bob, "match_walkover");
        await hub.publish({ type: "notification.created", org_id: "o1", user_id: "alice", payload: { title: "hi" } });
        await hub.publish({ type: "tournament_match.walkover", org_id: "o1", payload: { tournament_id: "sentinel2" } });
        expect((await arrived).data).toEqual({ notification: { title: "hi" } });
        await sentinel;
        expect(bobSaw).toHaveLength(0);
      });

      it("scopes ids by org: the same id from two orgs is two events", async () => {
        const a = await connectUser("u1", "o1");
        const b = await connectUser("u2", "o2");
        await request(a, "subscribe", { topic: "org:o1" });
        await request(b, "subscribe", { topic: "org:o2" });
        const both = Promise.all([nextEvent(a, "roster.player_hired", "shared-7"), nextEvent(b, "roster.player_hired", "shared-7")]);
        await hub.publish({ id: "shared-7", type: "roster.player_hired", org_id: "o1", payload: {} });
        await hub.publish({ id: "shared-7", type: "roster.player_hired", org_id: "o2", payload: {} });
        const [onA, onB] = await both;
        expect([onA.org_id, onB.org_id]).toEqual(["o1", "o2"]);
      });

      it("assigns a sortable id when the producer gives none", async () => {
        const client = await connectUser();
        await request(client, "subscribe", { topic: "tournament:t1" });
        const arrived = nextEvent(client, "match_confirmed");
        await hub.publish({ type: "tournament_match.confirmed", org_id: "o1", payload: { tournament_id: "t1", match_id: 5 } });
        const msg = await arrived;
        expect(msg.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(msg.data).toEqual({ match: { tournament_id: "t1", match_id: 5 } });
      });
    });

    describe("token lifetime", () => {
      it("disconnects when the token expires, after telling the client", async () => {
        const client = await connectClient(url, await user("u1", "o1", 2));
        const expired = new Promise((resolve) => client.once("auth.expired", resolve));
        const reason = await new Promise((resolve) => client.once("disconnect", resolve));
        expect(await expired).toMatchObject({ exp: expect.any(Number) });
        expect(reason).toBe("io server disconnect");
      });

      it("auth.refresh with a fresh token moves the expiry", async () => {
        const client = await connectClient(url, await user("u1", "o1", 1));
        const reply = await request<{ ok: boolean; exp: number }>(client, "auth.refresh", { token: await user("u1", "o1", 3) });
        expect(reply.ok).toBe(true);
        await new Promise((resolve) => client.once("disconnect", resolve));
        // Disconnected by the refreshed expiry, not the original one.
        expect(Date.now()).toBeGreaterThanOrEqual(reply.exp * 1000 - 50);
      });

      it("auth.refresh refuses another subject, another org, bad and expired tokens", async () => {
        const client = await connectUser("u1", "o1");
        expect(await request(client, "auth.refresh", { token: await user("u2", "o1") })).toMatchObject({ error: { code: "forbidden" } });
        expect(await request(client, "auth.refresh", { token: await user("u1", "o2") })).toMatchObject({ error: { code: "forbidden" } });
        expect(await request(client, "auth.refresh", { token: "garbage" })).toMatchObject({ error: { code: "token_invalid" } });
        expect(await request(client, "auth.refresh", { token: await user("u1", "o1", -5) })).toMatchObject({
          error: { code: "token_expired" },
        });
        expect(await request(client, "auth.refresh", {})).toMatchObject({ error: { code: "bad_request" } });
        expect(await request(client, "auth.refresh", { token: 42 })).toMatchObject({ error: { code: "bad_request" } });
        expect(await request(client, "auth.refresh", "token")).toMatchObject({ error: { code: "bad_request" } });
        // An empty token is an invalid one: the contract lists no token_missing for auth.refresh.
        for (const token of ["", "   "]) {
          expect(await request(client, "auth.refresh", { token })).toMatchObject({ ok: false, error: { code: "token_invalid" } });
        }
        expect(client.connected).toBe(true);
      });
    });

    describe("HTTP", () => {
      it("GET /health, /health/live, /health/ready", async () => {
        const health = await fetch(`${url}/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({
          status: "ok",
          redis: hub.engine === "memory" ? "disabled" : "connected",
          version: "0.1.0",
          engine: hub.engine === "memory" ? "memory" : "redis",
        });
        expect((await fetch(`${url}/health/live`)).status).toBe(200);
        expect((await fetch(`${url}/health/ready`)).status).toBe(200);
      });

      it("POST /api/v1/events publishes one event or a batch: 202 { ids }", async () => {
        const client = await connectUser();
        await request(client, "subscribe", { topic: "org:o1" });
        const seen = collect(client, "team_goal.completed");
        const done = nextEvent(client, "team_goal.completed", "b-2");
        const single = await httpPublish(ingressUrl, { id: "s-1", type: "team_goal.completed", org_id: "o1", payload: {} });
        expect(single.status).toBe(202);
        expect(await single.json()).toEqual({ ids: ["s-1"] });
        const batch = await httpPublish(ingressUrl, {
          events: [
            { id: "b-1", type: "team_goal.completed", org_id: "o1", payload: {} },
            { id: "b-2", type: "team_goal.completed", org_id: "o1", payload: {} },
          ],
        });
        expect(await batch.json()).toEqual({ ids: ["b-1", "b-2"] });
        await done;
        expect(seen.map((e) => e.id)).toEqual(["s-1", "b-1", "b-2"]);
      });

      it("POST /api/v1/events refuses bad input with stable codes", async () => {
        expect((await fetch(`${ingressUrl}/api/v1/events`, { method: "POST" })).status).toBe(401);
        const asUser = await httpPublish(ingressUrl, { type: "player.x", org_id: 1, payload: {} }, await user());
        expect(asUser.status).toBe(403);

        const invalid = await httpPublish(ingressUrl, { type: "Not A Type", org_id: "o1", payload: [] });
        expect(invalid.status).toBe(400);
        const body = (await invalid.json()) as { error: { code: string; issues: string[] } };
        expect(body.error.code).toBe("invalid_event");
        expect(body.error.issues.join("\n")).toMatch(/type/);

        const unknown = await httpPublish(ingressUrl, { type: "ticket.sold", org_id: "o1", payload: {} });
        expect(await unknown.json()).toMatchObject({ error: { code: "unknown_type" } });

        const mixed = await httpPublish(ingressUrl, { events: [{ type: "player.x", org_id: 1, payload: {} }, { type: "player.x" }] });
        expect(mixed.status).toBe(400);
        expect(((await mixed.json()) as { error: { issues: string[] } }).error.issues[0]).toMatch(/^events\.1\./);

        const tooMany = await httpPublish(ingressUrl, { events: Array.from({ length: 501 }, () => ({})) });
        expect(tooMany.status).toBe(400);

        const badJson = await fetch(`${ingressUrl}/api/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${await serviceToken()}` },
          body: "{not json",
        });
        expect(badJson.status).toBe(400);
        expect(await badJson.json()).toMatchObject({ error: { code: "invalid_json" } });

        const huge = await httpPublish(ingressUrl, { type: "player.x", org_id: 1, payload: { blob: "x".repeat(1_100_000) } });
        expect(huge.status).toBe(413);
      });

      it("GET /metrics counts accepted and rejected events by path and code", async () => {
        await httpPublish(ingressUrl, { type: "player.x", org_id: "o1" });
        await httpPublish(ingressUrl, { type: "player.x", org_id: "o1", payload: {} });
        const res = await fetch(`${ingressUrl}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
        const text = await res.text();
        const count = (labels: string) => Number(new RegExp(`^hub_events_ingested_total\\{${labels}\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
        expect(count('source="http",outcome="rejected",code="invalid_event"')).toBeGreaterThanOrEqual(1);
        expect(count('source="http",outcome="accepted",code=""')).toBeGreaterThanOrEqual(1);
      });

      it("keeps delivering good events around bad ones", async () => {
        const client = await connectUser();
        await request(client, "subscribe", { topic: "org:o1" });
        const seen = collect(client, "player.transferred");
        const last = nextEvent(client, "player.transferred", "good-2");
        await hub.publish({ id: "good-1", type: "player.transferred", org_id: "o1", payload: {} });
        await httpPublish(ingressUrl, { id: "bad", type: "player.transferred", org_id: "o1" });
        await hub.publish({ id: "good-2", type: "player.transferred", org_id: "o1", payload: {} });
        await last;
        expect(seen.map((e) => e.id)).toEqual(["good-1", "good-2"]);
      });
    });

    it("delivers each event once to each subscriber (sentinel-checked)", async () => {
      const client = await connectUser();
      await request(client, "subscribe", { topic: "org:o1" });
      const seen = collect(client, "roster.player_removed");
      const sentinel = publishThenSentinel(hub, client, { id: "once-1", type: "roster.player_removed", org_id: "o1", payload: {} });
      await sentinel;
      expect(seen.map((e) => e.id)).toEqual(["once-1"]);
    });
  });
}
