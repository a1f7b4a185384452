import { connectHub } from "@hub/client";
import {
  closeAllClients,
  connectClient,
  type HubClient,
  nextEvent,
  refusal,
  request,
  serviceToken,
  startTcpProxy,
  until,
  userToken,
} from "@hub/devkit";
import type { Envelope, ResyncInfo, SubscribeOk } from "@hub/events";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type HubFixture, redisHub } from "./hub-fixture.js";

/**
 * What an attacker and a slow client do to a gateway (issue 11, docs/operations.md "Limits"), on two
 * Redis-backed gateway processes with small limits: each limit refuses with its stable code, is
 * counted, and leaves everyone else alone.
 */

const LIMITS = {
  REQUEST_RATE_PER_SECOND: "20",
  MAX_CONNECTIONS_PER_USER: "2",
  MAX_CONNECTIONS_PER_IP: "40",
  HANDSHAKES_PER_IP_PER_SECOND: "30",
  HTTP_PUBLISH_RATE_PER_SECOND: "5",
  CLIENT_BUFFER_BYTES: "262144",
  MAX_PENDING_SESSIONS: "80",
};

let hub: HubFixture & { redis: { url: string } };
const url = (node: number) => (hub.gateways[node] as { url: string }).url;
let run = 0;
const fresh = (prefix: string) => `${prefix}${++run}-${Date.now().toString(36)}`;

/** A counter of a gateway's /metrics, by its full series name (`name{labels}`). */
async function counter(node: number, series: string): Promise<number> {
  const text = await (await fetch(`${url(node)}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const TEST_JWT_SECRET = "test-user-secret-0123456789abcdef0123";
/** A user token issued at `iat` (epoch s). */
const tokenIssuedAt = (sub: string, org: string, iat: number) =>
  new SignJWT({ sub, org_id: org })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));

async function postService(path: string, body: unknown, node = 0): Promise<Response> {
  return fetch(`${url(node)}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await serviceToken("limits-test")}` },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  hub = await redisHub(2, LIMITS);
});
afterAll(async () => {
  await hub?.close();
});
afterEach(() => closeAllClients());

describe("per-connection request budget", () => {
  it.each(["presence", "ack", "auth.refresh"])(
    "1,000 %s requests at once: the budget's worth is served, the rest refused rate_limited",
    async (event) => {
      const org = fresh("o");
      const client = await connectClient(url(0), await userToken({ sub: "flood", org_id: org }));
      const before = await counter(0, 'hub_limit_refusals_total{limit="request_rate"}');
      const token = await userToken({ sub: "flood", org_id: org });
      const payload =
        event === "presence" ? { topic: `org:${org}` } : event === "ack" ? { topic: "notifications:flood", offset: 0 } : { token };
      const replies = await Promise.all(
        Array.from({ length: 1_000 }, () => request<{ ok: boolean; error?: { code: string } }>(client, event, payload)),
      );
      const limited = replies.filter((r) => !r.ok && r.error?.code === "rate_limited").length;
      // A bucket of 20 plus what refills while the burst is read.
      expect(limited).toBeGreaterThanOrEqual(950);
      expect(replies.filter((r) => r.ok).length).toBeGreaterThanOrEqual(20);
      expect(await counter(0, 'hub_limit_refusals_total{limit="request_rate"}')).toBeGreaterThanOrEqual(before + limited);
      // The connection itself is fine once the burst is over.
      await until("the budget refilled", async () => (await request<{ ok: boolean }>(client, "presence", { topic: `org:${org}` })).ok);
    },
  );
});

describe("connection limits", () => {
  it("a user holds at most MAX_CONNECTIONS_PER_USER connections across the cluster; one closing frees a place", async () => {
    const org = fresh("o");
    const token = await userToken({ sub: "many", org_id: org });
    const first = await connectClient(url(0), token);
    await connectClient(url(1), token);
    const refused = await refusal(url(0), { token });
    expect(refused).toMatchObject({ data: { code: "too_many_connections" } });
    expect(await refusal(url(1), { token })).toMatchObject({ data: { code: "too_many_connections" } });
    // Another user of the same org, and the same user id in another org, are not affected.
    await connectClient(url(0), await userToken({ sub: "other", org_id: org }));
    await connectClient(url(0), await userToken({ sub: "many", org_id: fresh("o") }));
    expect(await counter(0, 'hub_limit_refusals_total{limit="connections_per_user"}')).toBeGreaterThanOrEqual(1);

    first.close();
    await until("a place freed", async () => {
      try {
        return await connectClient(url(1), token);
      } catch {
        return undefined;
      }
    });
  });

  it("connections and new handshakes per address are bounded on each gateway", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, async (_, i) => connectClient(url(1), await userToken({ sub: `ip-${i}`, org_id: fresh("o") }))),
    );
    const codes = results.map((r) => (r.status === "fulfilled" ? "ok" : ((r.reason as { data?: { code?: string } }).data?.code ?? "?")));
    expect(codes.filter((c) => c === "ok").length).toBeLessThanOrEqual(40);
    expect(codes.filter((c) => c !== "ok").length).toBeGreaterThanOrEqual(20);
    expect(new Set(codes.filter((c) => c !== "ok"))).toSatisfy((set: Set<string>) =>
      [...set].every((c) => c === "rate_limited" || c === "too_many_connections"),
    );
    const refusals =
      (await counter(1, 'hub_limit_refusals_total{limit="handshake_rate"}')) +
      (await counter(1, 'hub_limit_refusals_total{limit="connections_per_ip"}'));
    expect(refusals).toBeGreaterThanOrEqual(20);
  });

  it("@hub/client with a fixed token retries a handshake refused rate_limited, with jittered backoff, until it is in", async () => {
    const token = await serviceToken("storm-bot");
    const before = await counter(0, 'hub_limit_refusals_total{limit="handshake_rate"}');
    // More at once than the bucket holds (30), fewer than the per-address connection limit (40).
    const hubs = Array.from({ length: 36 }, () =>
      connectHub({ url: url(0), token, socketOptions: { transports: ["websocket"], reconnectionDelay: 200, reconnectionDelayMax: 1_000 } }),
    );
    let connected = 0;
    const refusals: string[] = [];
    for (const client of hubs) {
      client.on("connect", () => connected++);
      client.on("error", (error) => refusals.push(error.code));
    }
    try {
      await until("every client connected", () => connected === hubs.length, 15_000);
      expect(refusals.length).toBeGreaterThan(0);
      expect(new Set(refusals)).toEqual(new Set(["rate_limited"]));
      expect(await counter(0, 'hub_limit_refusals_total{limit="handshake_rate"}')).toBeGreaterThanOrEqual(before + refusals.length);
    } finally {
      for (const client of hubs) client.close();
    }
  });

  it("engine.io sessions that never finish the handshake are bounded (MAX_PENDING_SESSIONS)", async () => {
    const base = `${url(0)}/socket.io/?EIO=4&transport=polling`;
    const sessions: string[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 82; i++) {
      const res = await fetch(base);
      statuses.push(res.status);
      const sid = /"sid":"([^"]+)"/.exec(await res.text())?.[1];
      if (sid) sessions.push(sid);
    }
    expect(statuses.slice(0, 80).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(80)).toEqual([403, 403]);
    expect(await counter(0, 'hub_limit_refusals_total{limit="pending_sessions"}')).toBeGreaterThanOrEqual(2);
    // Closed (engine.io close packet), a session no longer counts: a real client gets in.
    await Promise.all(sessions.map((sid) => fetch(`${base}&sid=${sid}`, { method: "POST", body: "1" })));
    await until("pending sessions closed", async () => {
      try {
        return await connectClient(url(0), await userToken({ sub: "after-pending", org_id: fresh("o") }));
      } catch {
        return undefined;
      }
    });
  });
});

describe("HTTP publishes per service", () => {
  it("answers 429 rate_limited with Retry-After past HTTP_PUBLISH_RATE_PER_SECOND", async () => {
    const org = fresh("o");
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => postService("/api/v1/events", { type: "roster.player_hired", org_id: org, payload: { i } }, 1)),
    );
    const limited = responses.filter((r) => r.status === 429);
    expect(responses.filter((r) => r.status === 202).length).toBeGreaterThanOrEqual(5);
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(limited[0]?.headers.get("retry-after")).toBe("1");
    expect(await limited[0]?.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(await counter(1, 'hub_limit_refusals_total{limit="http_publish_rate"}')).toBeGreaterThanOrEqual(limited.length);
  });
});

describe("revocation and forced disconnect", () => {
  it("revoke closes the user's connections on every node within a second and refuses its old tokens; newer ones work", async () => {
    const org = fresh("o");
    const iat = Math.floor(Date.now() / 1000) - 5;
    const old = await tokenIssuedAt("fired", org, iat);
    const clients = [await connectClient(url(0), old), await connectClient(url(1), old)];
    const bystander = await connectClient(url(1), await userToken({ sub: "stays", org_id: org }));
    const closed = clients.map((c) => new Promise<string>((resolve) => c.once("disconnect", resolve)));
    const started = Date.now();
    const res = await postService(`/api/v1/users/fired/revoke`, { org_id: org, before: (iat + 1) * 1000 });
    expect(res.status).toBe(202);
    expect(await Promise.all(closed)).toEqual(["io server disconnect", "io server disconnect"]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(bystander.connected).toBe(true);

    expect(await refusal(url(0), { token: old })).toMatchObject({ message: "unauthorized", data: { code: "token_revoked" } });
    // A token issued after the revocation time is fine, also for auth.refresh.
    const fresher = await tokenIssuedAt("fired", org, iat + 2);
    const back = await connectClient(url(1), fresher);
    expect(await request(back, "auth.refresh", { token: old })).toMatchObject({ ok: false, error: { code: "token_revoked" } });
    expect(await request(back, "auth.refresh", { token: fresher })).toMatchObject({ ok: true });
    expect(
      (await counter(0, 'hub_forced_disconnects_total{reason="revoked"}')) +
        (await counter(1, 'hub_forced_disconnects_total{reason="revoked"}')),
    ).toBeGreaterThanOrEqual(2);
  });

  it("disconnect closes the user's connections everywhere without revoking; the routes need a service token and org_id", async () => {
    const org = fresh("o");
    const token = await userToken({ sub: "kicked", org_id: org });
    const client = await connectClient(url(0), token);
    const closed = new Promise<string>((resolve) => client.once("disconnect", resolve));
    expect((await postService(`/api/v1/users/kicked/disconnect`, { org_id: org }, 1)).status).toBe(202);
    expect(await closed).toBe("io server disconnect");
    await connectClient(url(0), token);

    expect((await postService(`/api/v1/users/kicked/disconnect`, {})).status).toBe(400);
    const asUser = await fetch(`${url(0)}/api/v1/users/kicked/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ org_id: org }),
    });
    expect(asUser.status).toBe(403);
  });
});

describe("slow consumers", () => {
  /** A client whose TCP socket stops being read: the kernel's buffers fill, then the gateway's. */
  const pause = (client: HubClient) => {
    const ws = (client.io.engine as unknown as { transport: { ws: { _socket: { pause(): void; resume(): void } } } }).transport.ws;
    return { pause: () => ws._socket.pause(), resume: () => ws._socket.resume() };
  };
  const big = (org: string, i: number) => ({
    id: `${org}-${i}`,
    type: "roster.player_hired",
    org_id: org,
    payload: { i, pad: "x".repeat(16_000) },
  });
  /**
   * Publishes 16 KB events on the org's topic, 20 at a time, until the gateway's counter moved
   * (kernel buffers take a few MB first); resolves with how many were published.
   */
  const publishUntil = async (org: string, node: number, series: string): Promise<number> => {
    const before = await counter(node, series);
    let i = 0;
    await until(
      `${series} to move`,
      async () => {
        for (let n = 0; n < 20; n++) await hub.publish(big(org, i++));
        return (await counter(node, series)) > before;
      },
      30_000,
    );
    return i;
  };

  it("a client that stops reading is closed past CLIENT_BUFFER_BYTES; a healthy one on the same topic gets every event", async () => {
    const org = fresh("o");
    const topic = `org:${org}`;
    const slow = await connectClient(url(0), await userToken({ sub: "slow", org_id: org }));
    const healthy = await connectClient(url(0), await userToken({ sub: "healthy", org_id: org }));
    for (const c of [slow, healthy]) expect(await request(c, "subscribe", { topic })).toMatchObject({ ok: true });
    const seen: string[] = [];
    healthy.on("roster.player_hired" as never, ((e: Envelope) => seen.push(e.id)) as never);
    pause(slow).pause();
    const i = await publishUntil(org, 0, "hub_slow_consumer_disconnects_total");
    const last = nextEvent(healthy, "roster.player_hired", `${org}-sentinel`);
    await hub.publish({ ...big(org, 0), id: `${org}-sentinel` });
    await last;
    expect(seen).toEqual([...Array.from({ length: i }, (_, n) => `${org}-${n}`), `${org}-sentinel`]);
    expect(hub.gateways[0]?.logs.some((l) => l.msg === "slow consumer: connection closed")).toBe(true);
  });

  it("a replay ten times CLIENT_BUFFER_BYTES is paced to its client: recovered in full, never taken for a slow consumer", async () => {
    const org = fresh("o");
    const topic = `org:${org}`;
    const first = await connectClient(url(0), await userToken({ sub: "replayer", org_id: org }));
    const { epoch, offset } = await request<SubscribeOk>(first, "subscribe", { topic });
    first.close();
    const before = (await counter(0, "hub_slow_consumer_disconnects_total")) + (await counter(0, "hub_slow_consumer_resyncs_total"));
    // 180 events of 16 KB: about 2.9 MB, against a cap of 256 KiB.
    for (let i = 0; i < 180; i++) await hub.publish(big(org, i));
    const back = await connectClient(url(0), await userToken({ sub: "replayer", org_id: org }));
    const received: string[] = [];
    back.on("roster.player_hired" as never, ((e: Envelope) => received.push(e.id)) as never);
    const replay = await request<SubscribeOk>(back, "subscribe", { topic, since: { offset, epoch } });
    expect(replay).toMatchObject({ ok: true, recovered: true, offset: 180 });
    expect(received).toEqual(Array.from({ length: 180 }, (_, n) => `${org}-${n}`));
    expect(back.connected).toBe(true);
    const after = (await counter(0, "hub_slow_consumer_disconnects_total")) + (await counter(0, "hub_slow_consumer_resyncs_total"));
    expect(after).toBe(before);
  });

  it("a client that negotiated resync keeps its connection: live events stop, resync comes once it reads again, since recovers all", async () => {
    const org = fresh("o");
    const topic = `org:${org}`;
    const slow = await connectClient(url(1), undefined, {
      auth: { token: await userToken({ sub: "lagging", org_id: org }), resync: true },
    });
    const ack = await request<SubscribeOk>(slow, "subscribe", { topic });
    const received: string[] = [];
    slow.on("roster.player_hired" as never, ((e: Envelope) => received.push(e.id)) as never);
    const resync = new Promise<ResyncInfo>((resolve) => slow.once("resync", resolve));
    const socket = pause(slow);
    socket.pause();
    const i = await publishUntil(org, 1, "hub_slow_consumer_resyncs_total");
    socket.resume();
    const { topics } = await resync;
    expect(slow.connected).toBe(true);
    expect(topics).toEqual([{ topic, offset: i, epoch: expect.any(String) }]);
    // Its queued live events were dropped: what came before resync is a strict prefix, in order.
    expect(received.length).toBeLessThan(i);
    expect(received).toEqual(Array.from({ length: received.length }, (_, n) => `${org}-${n}`));
    // Recovery from the last event it processed: every event, once, in order.
    const lastSeen = received.length;
    const since = lastSeen === 0 ? { offset: ack.offset, epoch: ack.epoch } : { offset: lastSeen, epoch: topics[0]?.epoch };
    const replay = await request<SubscribeOk>(slow, "subscribe", { topic, since });
    expect(replay).toMatchObject({ ok: true, recovered: true, offset: i });
    expect(received).toEqual(Array.from({ length: i }, (_, n) => `${org}-${n}`));
  });

  it("@hub/client negotiates resync: stalled behind a blackholed network, it gets every event once, in order, without reconnecting", async () => {
    const org = fresh("o");
    const topic = `org:${org}`;
    const port = Number(new URL(url(1)).port);
    const proxy = await startTcpProxy({ target: { host: "127.0.0.1", port } });
    const token = await userToken({ sub: "sdk", org_id: org });
    const client = connectHub({
      url: `http://127.0.0.1:${proxy.port}`,
      getToken: () => token,
      socketOptions: { transports: ["websocket"] },
    });
    const ids: string[] = [];
    let reconnects = 0;
    client.on("reconnect", () => reconnects++);
    const subscribed = new Promise<void>((resolve) => {
      client.subscribe(topic, {
        onEvent: (event, envelope) => {
          if (event === "roster.player_hired") ids.push(envelope.id);
        },
        onSubscribed: () => resolve(),
      });
    });
    try {
      await subscribed;
      proxy.blackhole();
      const total = await publishUntil(org, 1, "hub_slow_consumer_resyncs_total");
      proxy.pass();
      await until("every event", () => ids.length >= total, 20_000);
      await hub.publish({ ...big(org, 0), id: `${org}-sentinel` });
      await until("the sentinel", () => ids.includes(`${org}-sentinel`));
      expect(ids).toEqual([...Array.from({ length: total }, (_, n) => `${org}-${n}`), `${org}-sentinel`]);
      expect(reconnects).toBe(0);
    } finally {
      client.close();
      await proxy.close();
    }
  });
});
