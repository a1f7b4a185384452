import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  type RedisServer,
  request,
  serviceToken,
  startGateway,
  startRedis,
  startTcpProxy,
  type TcpProxy,
  until,
  userToken,
} from "@hub/devkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { httpPublish } from "./hub-fixture.js";

/**
 * Redis that stops answering while its connections stay open (a blackholed network, a stalled
 * server): ioredis keeps such a connection "ready" and queues commands behind it. The gateway
 * notices within seconds (a PING unanswered for 2 s), reports it on its health routes, refuses
 * publishes at once, and answers every socket request within REQUEST_TIMEOUT_MS instead of holding it.
 */

let redis: RedisServer;
let proxy: TcpProxy;
let gateway: GatewayProcess;

beforeAll(async () => {
  redis = await startRedis();
  proxy = await startTcpProxy({ target: { host: "127.0.0.1", port: Number(new URL(redis.url).port) } });
  gateway = await startGateway({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
});
afterAll(async () => {
  await gateway?.stop();
  await proxy?.close();
  await redis?.stop();
});
afterEach(() => {
  proxy.pass();
  closeAllClients();
});

describe("Redis silent", () => {
  it("health turns 503, publishes are refused at once, every socket request is answered, and all recovers after", async () => {
    const client = await connectClient(gateway.url, await userToken({ sub: "u1", org_id: "silent" }));
    expect(await request(client, "subscribe", { topic: "org:silent" })).toMatchObject({ ok: true });
    proxy.blackhole();

    // Sent before the gateway noticed: held by Redis, answered `unavailable` in time all the same.
    const sentAt = Date.now();
    const held = await Promise.all([
      request(client, "presence", { topic: "org:silent" }),
      request(client, "ack", { topic: "notifications:u1", offset: 1 }),
      request(client, "inhouse.join", { queue_id: "q1" }),
    ]);
    for (const reply of held) expect(reply).toMatchObject({ ok: false, error: { code: "unavailable" } });
    expect(Date.now() - sentAt).toBeLessThan(4_000 + 800);

    await until("the gateway to report Redis unreachable", async () => (await fetch(`${gateway.url}/health/ready`)).status === 503, 5_000);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(503);
    const refusedAt = Date.now();
    const publish = await httpPublish(gateway.url, { type: "roster.player_hired", org_id: "silent", payload: {} }, await serviceToken());
    expect(publish.status).toBe(503);
    expect(Date.now() - refusedAt).toBeLessThan(1_000);
    // Noticed: refused at once, not after the timeout.
    const fastAt = Date.now();
    expect(await request(client, "ack", { topic: "notifications:u1", offset: 1 })).toMatchObject({
      ok: false,
      error: { code: "unavailable" },
    });
    expect(Date.now() - fastAt).toBeLessThan(1_000);

    proxy.pass();
    await until("the gateway to report Redis back", async () => (await fetch(`${gateway.url}/health/ready`)).status === 200, 10_000);
    expect(await request(client, "presence", { topic: "org:silent" })).toMatchObject({ ok: true });
    expect(gateway.logs.some((l) => l.msg === "redis does not answer: reporting it unreachable")).toBe(true);
    expect(gateway.logs.some((l) => l.msg === "redis answers again")).toBe(true);
    expect(gateway.child.exitCode).toBeNull();
  }, 40_000);
});
