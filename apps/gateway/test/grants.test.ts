import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  type HubClient,
  request,
  startGateway,
  subscriptionToken,
  TEST_INTERNAL_SECRET,
  until,
  userToken,
} from "@hub/devkit";
import { decodeJwt, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { metricOn } from "./gateway-metrics.js";

/** What the test backend received: one entry per request, with whether its bearer token verified. */
interface Asked {
  action: string;
  user_id: string;
  org_id: string;
  topic: string;
  authorized: boolean;
}

/** The bearer tokens the backend received (the last one). */
let lastBearer = "";

/**
 * A stand-in for the backend behind AUTHZ_URL: allows the topics in `allow` for the users named,
 * refuses others, or answers nothing for a while (`stall`) or 500 (`broken`).
 */
async function startAuthzBackend() {
  const asked: Asked[] = [];
  const state = { allow: new Set<string>(), stall: false, broken: false };
  const stalled: ServerResponse[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const question = JSON.parse(body) as Omit<Asked, "authorized">;
    const bearer = req.headers.authorization?.replace(/^Bearer /, "") ?? "";
    lastBearer = bearer;
    const authorized = await jwtVerify(bearer, new TextEncoder().encode(TEST_INTERNAL_SECRET)).then(
      ({ payload }) => payload.sub === "hub",
      () => false,
    );
    asked.push({ ...question, authorized });
    if (state.stall) return void stalled.push(res);
    if (state.broken) return void res.writeHead(500).end();
    const allow = authorized && state.allow.has(`${question.org_id}/${question.user_id}/${question.topic}/${question.action}`);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ allow }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/authz`,
    asked,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of stalled) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Failure = { ok: false; error: { code: string; message: string } };

describe("subscription tokens and the org (GRANT_TOKEN_ORG)", () => {
  afterEach(() => closeAllClients());

  it("outside production takes the contract's claims alone; with required, a token must name the user's org", async () => {
    const topic = "chat:orgless";
    const lenient = await startGateway();
    const strict = await startGateway({ GRANT_TOKEN_ORG: "required" });
    try {
      // Issued for user 7 without an org: the same user id exists in orgs A and B.
      const token = await subscriptionToken({ sub: "7", topic, pub: true });
      const inA = await connectClient(lenient.url, await userToken({ sub: "7", org_id: "A" }));
      expect(await request(inA, "subscribe", { topic, token })).toMatchObject({ ok: true });
      const inB = await connectClient(strict.url, await userToken({ sub: "7", org_id: "B" }));
      expect(await request(inB, "subscribe", { topic, token })).toMatchObject({
        ok: false,
        error: { code: "forbidden", message: expect.stringContaining("org_id") },
      });
      const named = await subscriptionToken({ sub: "7", topic, org_id: "B", pub: true });
      expect(await request(inB, "subscribe", { topic, token: named })).toMatchObject({ ok: true });
    } finally {
      await Promise.all([lenient.stop(), strict.stop()]);
    }
  });
});

describe("grants from the backend (AUTHZ_URL)", () => {
  let backend: Awaited<ReturnType<typeof startAuthzBackend>>;
  let gateway: GatewayProcess;
  let alice: HubClient;
  let n = 0;
  /** A conversation no earlier test asked about (grants are cached per topic). */
  let topic: string;

  beforeAll(async () => {
    backend = await startAuthzBackend();
    gateway = await startGateway({ AUTHZ_URL: backend.url, AUTHZ_TIMEOUT_MS: "1500", AUTHZ_CACHE_MS: "60000" });
  });
  afterAll(async () => {
    await gateway?.stop();
    await backend?.close();
  });
  beforeEach(async () => {
    topic = `chat:g${++n}`;
    backend.state.allow.clear();
    backend.state.stall = false;
    backend.state.broken = false;
    backend.asked.length = 0;
    alice = await connectClient(gateway.url, await userToken({ sub: "alice", org_id: "o1" }));
  });
  afterEach(() => closeAllClients());

  const asked = (action: string) => backend.asked.filter((a) => a.action === action && a.topic === topic);

  it("grants what the backend allows, asking as the hub with a service token, and caches the grant", async () => {
    backend.state.allow.add(`o1/alice/${topic}/subscribe`);
    backend.state.allow.add(`o1/alice/${topic}/publish`);
    expect(await request(alice, "subscribe", { topic })).toMatchObject({ ok: true, topic });
    expect(await request(alice, "publish", { topic, event: "message:send", data: { text: "hi" } })).toMatchObject({ ok: true, offset: 1 });
    expect(backend.asked).toEqual([
      { action: "subscribe", user_id: "alice", org_id: "o1", topic, authorized: true },
      { action: "publish", user_id: "alice", org_id: "o1", topic, authorized: true },
    ]);
    // Cached: the backend is not asked again, even from another connection of the user.
    const again = await connectClient(gateway.url, await userToken({ sub: "alice", org_id: "o1" }));
    expect(await request(again, "subscribe", { topic })).toMatchObject({ ok: true });
    for (let i = 0; i < 5; i++) await request(alice, "publish", { topic, event: "message:send", data: { text: `${i}` } });
    expect(backend.asked).toHaveLength(2);
    expect(await metricOn(gateway, 'hub_authz_checks_total{outcome="cached"}')).toBeGreaterThanOrEqual(6);
  });

  it("refuses what the backend refuses, and asks again next time (refusals are not cached)", async () => {
    for (let i = 0; i < 3; i++) {
      expect(((await request<Failure>(alice, "subscribe", { topic })) as Failure).error.code).toBe("forbidden");
    }
    expect(asked("subscribe")).toHaveLength(3);
    // Another user of the same org is asked about separately; a grant for alice is no grant for bob.
    backend.state.allow.add(`o1/alice/${topic}/subscribe`);
    expect(await request(alice, "subscribe", { topic })).toMatchObject({ ok: true });
    const bob = await connectClient(gateway.url, await userToken({ sub: "bob", org_id: "o1" }));
    expect(((await request<Failure>(bob, "subscribe", { topic })) as Failure).error.code).toBe("forbidden");
    // Subscribing grants no publishing.
    expect(((await request<Failure>(alice, "publish", { topic, event: "message:send", data: { text: "x" } })) as Failure).error.code).toBe(
      "forbidden",
    );
  });

  it("fails closed: a backend slower than AUTHZ_TIMEOUT_MS refuses with unavailable, an error answer with forbidden", async () => {
    backend.state.stall = true;
    const started = Date.now();
    const reply = (await request<Failure>(alice, "subscribe", { topic })) as Failure;
    expect(reply.error.code).toBe("unavailable");
    expect(Date.now() - started).toBeLessThan(5_000);
    backend.state.stall = false;
    backend.state.broken = true;
    expect(((await request<Failure>(alice, "subscribe", { topic })) as Failure).error.code).toBe("forbidden");
    expect(await metricOn(gateway, 'hub_authz_checks_total{outcome="unavailable"}')).toBeGreaterThanOrEqual(1);
  });

  it("stops honouring a subscription token once it expires, though its verification is kept for speed", async () => {
    const token = await subscriptionToken({ sub: "alice", topic, org_id: "o1", pub: true }, { expiresIn: 2 });
    const exp = decodeJwt(token).exp as number;
    const publish = () => request<Failure | { ok: true }>(alice, "publish", { topic, event: "message:send", data: { text: "x" }, token });
    expect(await publish()).toMatchObject({ ok: true });
    expect(await publish()).toMatchObject({ ok: true });
    await until("the token expired", () => Date.now() > exp * 1000 + 50);
    expect(await publish()).toMatchObject({ ok: false, error: { code: "forbidden", message: expect.stringContaining("expired") } });
    // Nobody asked the backend: the token decided.
    expect(backend.asked).toEqual([]);
  });

  it("sends a bearer token that is no service token anywhere in the hub", async () => {
    backend.state.allow.add(`o1/alice/${topic}/subscribe`);
    expect(await request(alice, "subscribe", { topic })).toMatchObject({ ok: true });
    expect(lastBearer).not.toBe("");
    // Replayed by whoever saw it: not a socket principal, not an HTTP service.
    await expect(connectClient(gateway.url, lastBearer)).rejects.toMatchObject({ data: { code: "token_invalid" } });
    const res = await fetch(`${gateway.url}/api/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${lastBearer}` },
      body: JSON.stringify({ type: "roster.player_hired", org_id: "o1", payload: {} }),
    });
    expect(res.status).toBe(401);
  });

  it("holds one user to 16 backend checks in flight, so others are still asked", async () => {
    backend.state.stall = true;
    const replies = Promise.all(Array.from({ length: 20 }, (_, i) => request<Failure>(alice, "subscribe", { topic: `${topic}-${i}` })));
    const codes = (await replies).map((r) => r.error.code);
    expect(codes.filter((c) => c === "rate_limited")).toHaveLength(4);
    expect(codes.filter((c) => c === "unavailable")).toHaveLength(16);
    expect(backend.asked.filter((a) => a.user_id === "alice")).toHaveLength(16);
  });

  it("takes integer ids in subscription tokens, as in user tokens", async () => {
    const numeric = await connectClient(gateway.url, await userToken({ sub: 7, org_id: 42 }));
    const token = await subscriptionToken({ sub: 7 as unknown as string, topic, org_id: "42" });
    expect(await request(numeric, "subscribe", { topic, token })).toMatchObject({ ok: true });
  });

  it("shares one backend request among concurrent checks of the same grant", async () => {
    backend.state.allow.add(`o1/alice/${topic}/subscribe`);
    const sockets = await Promise.all(
      Array.from({ length: 5 }, async () => connectClient(gateway.url, await userToken({ sub: "alice", org_id: "o1" }))),
    );
    const replies = await Promise.all(sockets.map((s) => request(s, "subscribe", { topic })));
    for (const reply of replies) expect(reply).toMatchObject({ ok: true });
    expect(asked("subscribe")).toHaveLength(1);
  });
});
