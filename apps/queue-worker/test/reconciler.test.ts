import {
  closeAllClients,
  connectClient,
  type FakeBackend,
  type FakeBackendOptions,
  freePort,
  type GatewayProcess,
  type HubProcess,
  type RedisServer,
  request,
  serviceToken,
  startFakeBackend,
  startGateway,
  startRedis,
  startWorker,
  TEST_INTERNAL_SECRET,
  until,
  userToken,
} from "@hub/devkit";
import type { Envelope, Queue } from "@hub/events";
import { Redis } from "ioredis";
import { jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

/**
 * The queue-worker's startup reconciler against the fake backend, with real worker and gateway
 * processes on a real redis-server.
 */

type Updated = Envelope<{ queue: Queue }>;
type Command = { command: string; org_id: string; queue_id: string; user_id?: string; capacity?: number };

const RECONCILED = "reconciled inhouse queues with the backend";

let redisServer: RedisServer;
let gateway: GatewayProcess;
let redis: Redis;
let token: string;
let workers: HubProcess[] = [];
let backends: FakeBackend[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  gateway = await startGateway({ REDIS_URL: redisServer.url, HUB_NODE_ID: "gw-reconciler" });
  redis = new Redis(redisServer.url);
  token = await serviceToken();
});

beforeEach(async () => {
  // The reconciler closes every active queue its backend does not list: start from no queue at all.
  const keys = await redis.keys("hub:iq*");
  if (keys.length > 0) await redis.del(...keys);
});

afterEach(async () => {
  closeAllClients();
  await Promise.all(workers.map((w) => w.kill()));
  await Promise.all(backends.map((b) => b.close()));
  workers = [];
  backends = [];
});

afterAll(async () => {
  closeAllClients();
  await Promise.all(workers.map((w) => w.kill()));
  await Promise.all(backends.map((b) => b.close()));
  redis?.disconnect();
  await gateway?.stop();
  await redisServer?.stop();
});

async function worker(env: Record<string, string> = {}): Promise<HubProcess> {
  const started = await startWorker({
    REDIS_URL: redisServer.url,
    QUEUE_LEASE_TTL_MS: "2000",
    HUB_NODE_ID: `w${workers.length + 1}`,
    ...env,
  });
  workers.push(started);
  return started;
}

async function backend(queues: unknown[], options: FakeBackendOptions = {}): Promise<FakeBackend> {
  const started = await startFakeBackend(queues, options);
  backends.push(started);
  return started;
}

async function send(commands: Command[]): Promise<void> {
  const res = await fetch(`${gateway.url}/api/v1/inhouse/commands`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ commands }),
  });
  expect(res.status, await res.text()).toBe(202);
}

async function observe(org: string, url = gateway.url) {
  const client = await connectClient(url, await userToken({ sub: `observer-${org}`, org_id: org }));
  const updates: Updated[] = [];
  (client as unknown as { on(event: string, fn: (msg: Updated) => void): void }).on("queue_updated", (msg) => updates.push(msg));
  expect(await request(client, "subscribe", { topic: `inhouse:${org}` })).toMatchObject({ ok: true });
  const of = (queue: string) => updates.filter((u) => u.data.queue.id === queue).map((u) => u.data.queue);
  return {
    of,
    version: (queue: string, version: number, timeoutMs = 10_000) =>
      until(`queue_updated ${org}/${queue} v${version}`, () => of(queue).find((q) => q.version === version), timeoutMs),
  };
}

/** Opens queues through a worker that has no backend (reconciler disabled), then stops it. */
async function seed(org: string, commands: Command[], expected: Record<string, number>): Promise<void> {
  const observer = await observe(org);
  const seeder = await worker();
  await send(commands);
  for (const [queue, version] of Object.entries(expected)) await observer.version(queue, version);
  expect(await seeder.stop()).toBe(0);
}

const open = (org_id: string, queue_id: string, capacity = 10): Command => ({ command: "open", org_id, queue_id, capacity });
const join = (org_id: string, queue_id: string, user_id: string): Command => ({ command: "join", org_id, queue_id, user_id });

describe("queue-worker startup reconciler (fake backend)", () => {
  it("creates missing queues, closes unlisted ones, leaves newer Redis state alone, with a valid service token", async () => {
    const org = "rc";
    await seed(org, [open(org, "gone"), open(org, "newer"), join(org, "newer", "a"), join(org, "newer", "b"), join(org, "newer", "c")], {
      gone: 1,
      newer: 4,
    });
    const observer = await observe(org);
    const fake = await backend([
      { id: "created", org_id: org, status: "open", capacity: 6, players: [{ user_id: 7, checked_in: false }], version: 3 },
      { id: "newer", org_id: org, status: "open", capacity: 10, players: [], version: 2 },
    ]);

    const booted = await worker({ BACKEND_API_URL: fake.url });
    await booted.waitForLog((l) => l.msg === RECONCILED);

    expect(await observer.version("created", 3)).toMatchObject({
      status: "open",
      capacity: 6,
      players: [{ user_id: "7", checked_in: false }],
    });
    expect(await observer.version("gone", 2)).toMatchObject({ status: "closed" });

    // Commands sent after the reconciliation are applied after its changes (in order per queue).
    await send([join(org, "created", "8"), join(org, "newer", "d"), open(org, "gone")]);
    expect((await observer.version("created", 4)).players.map((p) => p.user_id)).toEqual(["7", "8"]);
    expect((await observer.version("newer", 5)).players.map((p) => p.user_id)).toEqual(["a", "b", "c", "d"]);
    await observer.version("gone", 3);
    // The backend's older view of "newer" changed nothing: the only change seen is the join.
    expect(observer.of("newer").map((q) => q.version)).toEqual([5]);
    expect(observer.of("created").map((q) => q.version)).toEqual([3, 4]);
    expect(observer.of("gone").map((q) => [q.version, q.status])).toEqual([
      [2, "closed"],
      [3, "open"],
    ]);

    expect(fake.requests).toHaveLength(1);
    const [call] = fake.requests;
    expect(call).toMatchObject({ path: "/internal/inhouse_queues/active", status: 200 });
    const bearer = /^Bearer (.+)$/.exec(call?.authorization ?? "")?.[1];
    expect(bearer).toBeDefined();
    const { payload } = await jwtVerify(bearer as string, new TextEncoder().encode(TEST_INTERNAL_SECRET), { algorithms: ["HS256"] });
    expect(payload.sub).toEqual(expect.any(String));
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
    await expect(jwtVerify(bearer as string, new TextEncoder().encode("another-secret-0123456789abcdef0123"))).rejects.toThrow();
  }, 30_000);

  it("backend down at boot: the worker starts and serves at once, retries with backoff, reconciles once the backend answers", async () => {
    const org = "rd";
    const observer = await observe(org);
    const fake = await backend([{ id: "listed", org_id: org, status: "open", players: [], version: 1 }]);
    fake.failNext(3);

    const booted = await worker({ BACKEND_API_URL: fake.url });
    // Started without waiting for the backend: no successful answer yet.
    expect(fake.requests.filter((r) => r.status === 200)).toEqual([]);

    // It serves commands while the backend is still down.
    await send([open(org, "other")]);
    await observer.version("other", 1);
    expect(fake.requests.filter((r) => r.status === 200)).toEqual([]);
    expect(booted.logs.some((l) => l.msg === RECONCILED)).toBe(false);

    expect(await observer.version("listed", 1, 20_000)).toMatchObject({ status: "open", capacity: 10, players: [] });
    expect(fake.requests.map((r) => r.status)).toEqual([503, 503, 503, 200]);

    const msgs = booted.logs.map((l) => l.msg);
    expect(msgs.indexOf("queue-worker started")).toBeLessThan(msgs.indexOf(RECONCILED));
    const retries = booted.logs.filter((l) => l.msg === "reconciler could not reach the backend");
    expect(retries).toHaveLength(3);
    const delays = retries.map((l) => l.retry_in_ms as number);
    expect(delays[0]).toBeGreaterThan(0);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1] as number);
    // Each retry waited its announced delay.
    const times = [...retries, booted.logs.find((l) => l.msg === RECONCILED)].map((l) => Date.parse(l?.time as string));
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual((delays[i - 1] as number) - 50);
  }, 30_000);

  it("two workers booting at once apply each reconciliation change once", async () => {
    const org = "rt";
    await seed(org, [open(org, "stale"), open(org, "kept"), join(org, "kept", "k1")], { stale: 1, kept: 2 });
    const observer = await observe(org);
    const fake = await backend([
      { id: "new1", org_id: org, status: "open", players: [], version: 1 },
      {
        id: "new2",
        org_id: org,
        status: "open",
        capacity: 4,
        players: [
          { user_id: "n1", checked_in: false },
          { user_id: "n2", checked_in: false },
        ],
        version: 2,
      },
      { id: "kept", org_id: org, status: "open", players: [], version: 1 },
    ]);

    const pair = await Promise.all([worker({ BACKEND_API_URL: fake.url }), worker({ BACKEND_API_URL: fake.url })]);
    await Promise.all(pair.map((w) => w.waitForLog((l) => l.msg === RECONCILED)));
    expect(fake.requests.filter((r) => r.status === 200)).toHaveLength(2);

    // A later command per queue: its update comes after every reconciliation change of that queue.
    await send([join(org, "new1", "x"), join(org, "new2", "x"), join(org, "kept", "x"), open(org, "stale")]);
    await observer.version("new1", 2);
    await observer.version("new2", 3);
    await observer.version("kept", 3);
    await observer.version("stale", 3);

    expect(observer.of("new1").map((q) => q.version)).toEqual([1, 2]);
    expect(observer.of("new2").map((q) => q.version)).toEqual([2, 3]);
    expect(observer.of("new2")[1]?.players.map((p) => p.user_id)).toEqual(["n1", "n2", "x"]);
    expect(observer.of("kept").map((q) => q.version)).toEqual([3]);
    expect(observer.of("kept")[0]?.players.map((p) => p.user_id)).toEqual(["k1", "x"]);
    expect(observer.of("stale").map((q) => [q.version, q.status])).toEqual([
      [2, "closed"],
      [3, "open"],
    ]);
  }, 30_000);
  it("backend down at boot as a refused connection (nothing listening): retried with backoff, reconciled once it listens", async () => {
    const org = "rr";
    const observer = await observe(org);
    const port = await freePort();
    const booted = await worker({ BACKEND_API_URL: `http://127.0.0.1:${port}` });
    // Serves at once, while every attempt is refused.
    await send([open(org, "other")]);
    await observer.version("other", 1);
    const refused = await booted.waitForLog((l) => l.msg === "reconciler could not reach the backend");
    expect(String(refused.err)).toMatch(/fetch failed|ECONNREFUSED/);

    // The backend comes up on that port: the next retry reconciles (checking the service token too).
    const fake = await backend([{ id: "listed", org_id: org, status: "open", players: [], version: 1 }], {
      port,
      secret: TEST_INTERNAL_SECRET,
    });
    expect(await observer.version("listed", 1, 20_000)).toMatchObject({ status: "open", capacity: 10 });
    await booted.waitForLog((l) => l.msg === RECONCILED);
    expect(fake.requests.map((r) => r.status)).toEqual([200]);
    // "other" was opened before the reconciler read Redis, and the backend does not list it: closed.
    expect((await observer.version("other", 2)).status).toBe("closed");
  }, 40_000);

  it("a queue changed or opened through the hub while the backend builds its answer is not closed", async () => {
    const org = "rh";
    await seed(org, [open(org, "changed"), open(org, "idle")], { changed: 1, idle: 1 });
    const observer = await observe(org);
    // The backend lists none of them, from a list it built before the commands below.
    const fake = await backend([]);
    const gate = fake.hold();
    const booted = await worker({ BACKEND_API_URL: fake.url });
    await gate.held;
    // While the request waits: a join on a queue the reconciler already read, and a new queue.
    await send([join(org, "changed", "late"), open(org, "opened")]);
    await observer.version("changed", 2);
    await observer.version("opened", 1);
    gate.release();
    await booted.waitForLog((l) => l.msg === RECONCILED);

    // The reconciler still closes the queue nobody touched ...
    expect(await observer.version("idle", 2)).toMatchObject({ status: "closed" });
    // ... and a later command per queue lands right after the hub's changes: nothing closed them.
    await send([join(org, "changed", "sentinel"), join(org, "opened", "sentinel")]);
    expect(await observer.version("changed", 3)).toMatchObject({ status: "open" });
    expect(await observer.version("opened", 2)).toMatchObject({ status: "open" });
    expect(observer.of("changed").map((q) => q.status)).toEqual(["open", "open"]);
    expect(observer.of("opened").map((q) => q.status)).toEqual(["open", "open"]);
    expect(
      booted.logs.find((l) => l.msg === "queue command refused" && l.queue === `${org}/changed` && l.command === "sync"),
    ).toMatchObject({ reason: "the queue changed since the reconciler read it" });
  }, 30_000);

  it("memory engine: a gateway with BACKEND_API_URL reconciles its in-process queues (signed service token)", async () => {
    const org = "rm";
    const fake = await backend(
      [
        {
          id: "evening",
          org_id: org,
          status: "open",
          capacity: 4,
          players: [{ user_id: 7, checked_in: false }],
          version: 5,
        },
      ],
      { secret: TEST_INTERNAL_SECRET },
    );
    // Held until the observer below subscribed: it sees the change as it is published.
    const gate = fake.hold();
    const memory = await startGateway({ HUB_NODE_ID: "gw-memory-reconciler", BACKEND_API_URL: fake.url });
    try {
      const observer = await observe(org, memory.url);
      await gate.held;
      gate.release();
      expect(await observer.version("evening", 5)).toMatchObject({
        status: "open",
        capacity: 4,
        players: [{ user_id: "7", checked_in: false }],
      });
      await memory.waitForLog((l) => l.msg === RECONCILED);
      expect(fake.requests.map((r) => r.status)).toEqual([200]);
    } finally {
      closeAllClients();
      await memory.stop();
    }
  }, 30_000);
});
