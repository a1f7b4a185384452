import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  gatewayEnv,
  nextEvent,
  type RedisServer,
  request,
  serviceToken,
  spawnHubProcess,
  startGateway,
  startRedis,
  until,
  userToken,
} from "@hub/devkit";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { httpPublish } from "./hub-fixture.js";

describe("health while Redis goes away and comes back", () => {
  let redis: RedisServer;
  let gateway: GatewayProcess;
  afterAll(async () => {
    closeAllClients();
    await gateway?.stop();
    await redis?.stop();
  });

  it("answers 503 degraded without Redis and recovers when it returns", async () => {
    redis = await startRedis();
    gateway = await startGateway({ REDIS_URL: redis.url });
    const health = async () => {
      const res = await fetch(`${gateway.url}/health`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await health()).toMatchObject({ status: 200, body: { status: "ok", redis: "connected", engine: "redis" } });
    const before = await connectClient(gateway.url, await userToken({ sub: "u1", org_id: "o1" }));
    await request(before, "subscribe", { topic: "org:o1" });
    const closed = new Promise<string>((resolve) => before.once("disconnect", resolve));

    await redis.kill();
    await until("/health to answer 503", async () => (await health()).status === 503, 20_000);
    expect((await health()).body).toMatchObject({ status: "degraded", redis: "disconnected" });
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(503);
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    // Producers are told to retry, not held until Redis returns (a retry would then deliver twice).
    const refused = await httpPublish(gateway.url, { type: "player.transferred", org_id: "o1", payload: {} }, await serviceToken());
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: "unavailable" } });
    // Socket requests that need Redis are answered at once, not held.
    for (const [event, payload] of [
      ["subscribe", { topic: "notifications:u1" }],
      ["subscribe", { topic: "org:o1" }],
      ["ack", { topic: "notifications:u1", offset: 1 }],
    ] as const) {
      expect(await request(before, event, payload)).toMatchObject({ ok: false, error: { code: "unavailable" } });
    }

    redis = await startRedis({ port: redis.port });
    await until("/health to answer 200", async () => (await health()).status === 200, 20_000);
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
    // Its sockets missed what was published during the outage: the gateway closed them to recover.
    expect(await closed).toBe("transport close");

    // Still a working hub after the outage.
    const client = await connectClient(gateway.url, await userToken({ sub: "u1", org_id: "o1" }));
    await request(client, "subscribe", { topic: "org:o1" });
    const arrived = nextEvent(client, "player.transferred", "after-outage");
    expect(
      (await httpPublish(gateway.url, { id: "after-outage", type: "player.transferred", org_id: "o1", payload: {} }, await serviceToken()))
        .status,
    ).toBe(202);
    expect((await arrived).id).toBe("after-outage");
  });

  it("starts without Redis, answers 503 until it arrives, then turns ready", async () => {
    const port = redis.port;
    await redis.stop();
    const late = spawnHubProcess("apps/gateway/src/main.ts", gatewayEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    try {
      const { port: httpPort } = (await late.waitForLog((l) => l.msg === "listening")) as { port: number };
      const url = `http://127.0.0.1:${httpPort}`;
      expect((await fetch(`${url}/health`)).status).toBe(503);
      const notReady = await fetch(`${url}/health/ready`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ status: "starting" });

      redis = await startRedis({ port });
      await late.waitForLog((l) => l.msg === "ready");
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    } finally {
      await late.stop();
    }
  });
});

describe("Redis that requires a password (REDIS_PASSWORD)", () => {
  const password = "hub-test-redis-password-0123456789";
  let redis: RedisServer;
  afterAll(async () => {
    closeAllClients();
    await redis?.stop();
  });

  it("connects with REDIS_PASSWORD next to a REDIS_URL without one, and delivers", async () => {
    redis = await startRedis({ password });
    expect(redis.url).not.toContain(password);
    const gateway = await startGateway({ REDIS_URL: redis.url, REDIS_PASSWORD: password });
    try {
      const res = await fetch(`${gateway.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ok", redis: "connected", engine: "redis" });
      expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);

      const client = await connectClient(gateway.url, await userToken({ sub: "u1", org_id: "o1" }));
      expect(await request(client, "subscribe", { topic: "org:o1" })).toMatchObject({ ok: true, epoch: expect.any(String) });
      const arrived = nextEvent(client, "player.transferred", "with-password");
      const published = await httpPublish(
        gateway.url,
        { id: "with-password", type: "player.transferred", org_id: "o1", payload: {} },
        await serviceToken(),
      );
      expect(published.status).toBe(202);
      expect((await arrived).id).toBe("with-password");
    } finally {
      await gateway.stop();
    }
  });

  it("stays up (503) when the password is rotated on the server after it connected, and recovers when it matches again", async () => {
    redis ??= await startRedis({ password });
    const gateway = await startGateway({ REDIS_URL: redis.url, REDIS_PASSWORD: password });
    const admin = new Redis(redis.url, { password, lazyConnect: true, retryStrategy: () => null });
    try {
      await admin.connect();
      const status = async () => (await fetch(`${gateway.url}/health`)).status;
      expect(await status()).toBe(200);
      // The server's password changes first; its connections are dropped and reconnect with the old one.
      await admin.config("SET", "requirepass", "rotated-password-0123456789");
      await admin.client("KILL", "TYPE", "normal", "SKIPME", "yes");
      await admin.client("KILL", "TYPE", "pubsub");
      await until("health 503 after the rotation", async () => (await status()) === 503);
      expect(gateway.child.exitCode).toBeNull();
      await admin.config("SET", "requirepass", password);
      await until("health 200 once the passwords match", async () => (await status()) === 200);
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      admin.disconnect();
      await gateway.stop();
    }
  });

  it.each([
    ["gateway", "a wrong REDIS_PASSWORD", { REDIS_PASSWORD: "not-the-password" }, "REDIS_PASSWORD"],
    ["gateway", "no password at all", {}, "REDIS_URL"],
    ["worker", "a wrong REDIS_PASSWORD", { REDIS_PASSWORD: "not-the-password" }, "REDIS_PASSWORD"],
    ["worker", "no password at all", {}, "REDIS_URL"],
  ])("the %s stops with one line naming the variable when Redis refuses %s", async (role, _label, env, variable) => {
    redis ??= await startRedis({ password });
    const script = role === "gateway" ? "apps/gateway/src/main.ts" : "apps/queue-worker/src/main.ts";
    const refused = spawnHubProcess(script, gatewayEnv({ REDIS_URL: redis.url, METRICS_PORT: "0", ...env }));
    const code = await new Promise<number | null>((resolve) => refused.child.once("exit", resolve));
    expect(code).toBe(1);
    const stderr = refused.stderr().trim();
    expect(stderr.split("\n")).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^${role}: invalid configuration: ${variable} Redis refused the password \\((WRONGPASS|NOAUTH)`));
    expect(refused.logs.find((l) => l.level === "fatal")).toMatchObject({ msg: `Redis refused the password: check ${variable}` });
    // Neither the wrong password nor the right one is printed.
    expect(`${stderr}${JSON.stringify(refused.logs)}`).not.toMatch(/not-the-password|hub-test-redis-password/);
  });
});
