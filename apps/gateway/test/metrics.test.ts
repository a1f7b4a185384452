import { randomBytes } from "node:crypto";
import {
  closeAllClients,
  connectClient,
  type FakeBackend,
  type GatewayProcess,
  type HubClient,
  type HubProcess,
  nextEvent,
  type RedisCluster,
  type RedisServer,
  request,
  serviceToken,
  startFakeBackend,
  startGateway,
  startRedis,
  startRedisCluster,
  startWorker,
  until,
  userToken,
} from "@hub/devkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `GET /metrics` on a gateway and on the queue-worker (docs/protocol.md "Metrics"), with real
 * processes on a real Redis: the counts must match the traffic the test makes, labels must name
 * namespaces and types (never topics, ids or tokens).
 */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key as string] = value as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The metrics of one process: the text and its samples. */
interface Scrape {
  text: string;
  samples: Sample[];
  /** Sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** The families (`# TYPE` lines) present. */
  families: Set<string>;
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  const text = await res.text();
  const samples = parseMetrics(text);
  return {
    text,
    samples,
    value(name, labels = {}) {
      const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      return hits.length === 0 ? undefined : hits.reduce((sum, s) => sum + s.value, 0);
    },
    families: new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string)),
  };
}

function publish(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${url}/api/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Fails after `ms` naming `what` (a failure bound, not a wait). */
async function within<T>(what: string, pending: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([pending, expired]);
  } finally {
    clearTimeout(timer);
  }
}

const fresh = (prefix: string) => `${prefix}${randomBytes(4).toString("hex")}`;

describe("GET /metrics on a gateway and a worker", () => {
  const org = fresh("morg");
  const queueId = fresh("mq");
  const eventIds = [fresh("ev-a-"), fresh("ev-b-"), fresh("ev-c-")];
  const secrets: string[] = [];
  let redis: RedisServer;
  let backend: FakeBackend;
  let gateway: GatewayProcess;
  let worker: HubProcess;
  let workerUrl: string;
  let service: string;

  beforeAll(async () => {
    redis = await startRedis();
    // The backend is down for the reconciler's first attempt, up for the second: one run of each outcome.
    backend = await startFakeBackend([]);
    backend.failNext(1);
    const env = { REDIS_URL: redis.url, CHECK_IN_TIMEOUT_MS: "1000", BACKEND_API_URL: backend.url };
    [gateway, worker] = await Promise.all([startGateway(env), startWorker(env)]);
    const started = await worker.waitForLog((l) => l.msg === "queue-worker started");
    expect(started.metrics_port).toEqual(expect.any(Number));
    workerUrl = `http://127.0.0.1:${started.metrics_port as number}`;
    service = await serviceToken("metrics-test");
    secrets.push(service);
    // Queues opened before the reconciliation could be closed by it (the backend lists none).
    await until(
      "the reconciler to succeed",
      async () => (await scrape(workerUrl)).value("hub_reconciler_runs_total", { outcome: "succeeded" }) === 1,
    );
  });

  afterAll(async () => {
    closeAllClients();
    await Promise.allSettled([gateway?.stop(), worker?.stop()]);
    await Promise.allSettled([redis?.stop(), backend?.close()]);
  });

  const connectService = () => connectClient(gateway.url, service);

  let live: HubClient;
  let recovering: HubClient;
  let lost: HubClient;

  it("counts events in, deliveries, duplicates, dead letters and recoveries, by namespace and type", async () => {
    const before = await scrape(gateway.url);
    // Services are never present: no presence broadcast adds to the counts below.
    live = await connectService();
    const first = await request<{ ok: boolean; epoch: string; offset: number }>(live, "subscribe", { topic: `org:${org}` });
    expect(first.ok).toBe(true);

    const arrived = eventIds.map((id) => nextEvent(live, "roster.player_hired", id));
    for (const id of eventIds) {
      expect((await publish(gateway.url, service, { id, type: "roster.player_hired", org_id: org, payload: { n: 1 } })).status).toBe(202);
    }
    const envelopes = await within("the three events", Promise.all(arrived));
    // The same id again: accepted, not delivered.
    expect((await publish(gateway.url, service, { id: eventIds[0], type: "roster.player_hired", org_id: org, payload: {} })).status).toBe(
      202,
    );
    // Refused and dead-lettered: no payload, an unknown type, not JSON.
    expect((await publish(gateway.url, service, { id: fresh("bad-"), type: "roster.player_hired", org_id: org })).status).toBe(400);
    expect((await publish(gateway.url, service, { type: "no.such_type", org_id: org, payload: {} })).status).toBe(400);
    expect((await publish(gateway.url, service, "{not json")).status).toBe(400);

    // One subscriber recovers the last two events; another comes back from an epoch Redis no longer has.
    const since = { offset: envelopes[0]?.offset as number, epoch: envelopes[0]?.epoch as string };
    recovering = await connectService();
    const replayed = [nextEvent(recovering, "roster.player_hired", eventIds[1]), nextEvent(recovering, "roster.player_hired", eventIds[2])];
    expect(await request(recovering, "subscribe", { topic: `org:${org}`, since })).toMatchObject({ ok: true, recovered: true });
    await within("the replay", Promise.all(replayed));
    lost = await connectService();
    expect(await request(lost, "subscribe", { topic: `org:${org}`, since: { offset: 1, epoch: "gone" } })).toMatchObject({
      ok: true,
      recovered: false,
    });

    const m = await scrape(gateway.url);
    const delta = (name: string, labels: Record<string, string> = {}) => (m.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    expect(m.value("hub_connections")).toBe(3);
    expect(m.value("hub_subscriptions", { namespace: "org" })).toBe(3);
    expect(m.value("hub_subscriptions", { namespace: "tournament" })).toBe(0);
    expect(delta("hub_events_in_total", { source: "http", type: "roster.*" })).toBe(4);
    expect(delta("hub_dedupe_hits_total", { source: "http" })).toBe(1);
    expect(delta("hub_events_ingested_total", { source: "http", outcome: "accepted" })).toBe(3);
    expect(delta("hub_events_ingested_total", { source: "http", outcome: "duplicate" })).toBe(1);
    expect(delta("hub_events_ingested_total", { source: "http", outcome: "rejected" })).toBe(3);
    for (const code of ["invalid_event", "unknown_type", "invalid_json"]) {
      expect(delta("hub_events_dead_lettered_total", { source: "http", code })).toBe(1);
    }
    expect(m.value("hub_events_dropped_total", { reason: "publish_failed" })).toBe(0);
    expect(m.value("hub_events_dropped_total", { reason: "dead_letter_failed" })).toBe(0);
    // Three broadcasts, each to the one socket subscribed then; the duplicate was not broadcast.
    expect(delta("hub_broadcasts_total", { namespace: "org" })).toBe(3);
    expect(delta("hub_deliveries_total", { namespace: "org" })).toBe(3);
    expect(delta("hub_publish_to_emit_seconds_count")).toBe(3);
    const latency = delta("hub_publish_to_emit_seconds_sum");
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(3 * 5);
    expect(delta("hub_history_replayed_events_total", { namespace: "org" })).toBe(2);
    expect(delta("hub_recoveries_total", { namespace: "org", recovered: "true" })).toBe(1);
    expect(delta("hub_recoveries_total", { namespace: "org", recovered: "false" })).toBe(1);
    for (const role of ["pub", "sub", "legacy"]) expect(m.value("hub_redis_connected", { role })).toBe(1);
    expect(m.families).toContain("hub_nodejs_eventloop_lag_seconds");
    expect(m.families).toContain("hub_live_stream_gaps_total");

    // Leaving, by unsubscribe or disconnect, is counted too.
    expect(await request(recovering, "unsubscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
    lost.close();
    await until("subscriptions and connections to drop", async () => {
      const now = await scrape(gateway.url);
      return now.value("hub_subscriptions", { namespace: "org" }) === 1 && now.value("hub_connections") === 2;
    });
  });

  it("counts the worker's commands, deadline lateness, leases and reconciler runs", async () => {
    const before = await scrape(gateway.url);
    const watcher = await connectService();
    expect(await request(watcher, "subscribe", { topic: `inhouse:${org}` })).toMatchObject({ ok: true });
    const players: HubClient[] = [];
    for (const sub of ["p1", "p2"]) {
      const token = await userToken({ sub, org_id: org });
      secrets.push(token);
      players.push(await connectClient(gateway.url, token));
    }
    const [p1, p2] = players as [HubClient, HubClient];
    const opened = nextEvent(watcher, "queue_updated");
    const res = await fetch(`${gateway.url}/api/v1/inhouse/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${service}` },
      body: JSON.stringify({ command: "open", org_id: org, queue_id: queueId, capacity: 2 }),
    });
    expect(res.status).toBe(202);
    await within("queue_updated after open", opened);
    expect(await request(p1, "inhouse.join", { queue_id: queueId })).toMatchObject({ ok: true });
    // Refused by the worker: check-in is not open while the queue is not full.
    expect(await request(p1, "inhouse.check_in", { queue_id: queueId })).toMatchObject({ ok: true });
    const expired = nextEvent(watcher, "check_in_expired");
    expect(await request(p2, "inhouse.join", { queue_id: queueId })).toMatchObject({ ok: true });
    // Nobody checks in: the 1 s deadline expires.
    await within("check_in_expired", expired);

    const w = await until("the worker to count the expiry", async () => {
      const now = await scrape(workerUrl);
      return now.value("hub_queue_deadline_lateness_seconds_count") === 1 ? now : undefined;
    });
    expect(w.value("hub_queue_commands_total", { kind: "open", outcome: "applied" })).toBe(1);
    expect(w.value("hub_queue_commands_total", { kind: "join", outcome: "applied" })).toBe(2);
    expect(w.value("hub_queue_commands_total", { kind: "check_in", outcome: "refused" })).toBe(1);
    expect(w.value("hub_queue_commands_total", { kind: "expire", outcome: "applied" })).toBe(1);
    expect(w.value("hub_queue_commands_total")).toBe(5);
    // The sweep runs every 500 ms and the wake-up timer fires at the deadline: well under 5 s late.
    expect(w.value("hub_queue_deadline_lateness_seconds_sum")).toBeLessThan(5);
    expect(w.value("hub_queue_leases_held")).toBe(1);
    expect(w.value("hub_queue_leases_lost_total")).toBe(0);
    expect(w.value("hub_reconciler_runs_total", { outcome: "failed" })).toBe(1);
    expect(w.value("hub_reconciler_runs_total", { outcome: "succeeded" })).toBe(1);
    for (const role of ["main", "wake"]) expect(w.value("hub_redis_connected", { role })).toBe(1);
    expect(w.families).toContain("hub_nodejs_eventloop_lag_seconds");

    // The gateway handed each queue event (open, join, join, expiry: updated + expired) to the watcher.
    const m = await scrape(gateway.url);
    const delta = (name: string, labels: Record<string, string> = {}) => (m.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    expect(delta("hub_broadcasts_total", { namespace: "inhouse" })).toBe(5);
    expect(delta("hub_deliveries_total", { namespace: "inhouse" })).toBe(5);
    expect(m.value("hub_subscriptions", { namespace: "inhouse" })).toBe(1);
    expect(m.value("hub_connections")).toBe(5);
  });

  it("the worker answers /health, and 404 elsewhere", async () => {
    const health = await fetch(`${workerUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", redis: "connected" });
    expect((await fetch(`${workerUrl}/nope`)).status).toBe(404);
  });

  it("labels name namespaces and types: no topic, org, queue, event id or token appears", async () => {
    for (const url of [gateway.url, workerUrl]) {
      const { text, samples } = await scrape(url);
      for (const sample of samples) {
        for (const value of Object.values(sample.labels)) expect(value, `${sample.name} ${value}`).not.toContain(":");
      }
      for (const secret of [org, queueId, ...eventIds, ...secrets]) expect(text).not.toContain(secret);
    }
  });
});

describe("GET /metrics with sharded pub/sub: one series per subscriber connection", () => {
  let redis: RedisServer;
  let cluster: RedisCluster;
  let single: GatewayProcess;
  let sharded: GatewayProcess;

  beforeAll(async () => {
    [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
    [single, sharded] = await Promise.all([
      startGateway({ REDIS_URL: redis.url, HUB_PUBSUB: "sharded" }),
      startGateway({ REDIS_CLUSTER_NODES: cluster.seeds }),
    ]);
  }, 60_000);

  afterAll(async () => {
    closeAllClients();
    await Promise.allSettled([single?.stop(), sharded?.stop()]);
    await Promise.allSettled([redis?.stop(), cluster?.stop()]);
  });

  it("counts each master's subscribed topic channels and whether its connection is ready", async () => {
    const service = await serviceToken("metrics-test");
    const topics = Array.from({ length: 12 }, () => `org:${fresh("shorg")}`);
    for (const gateway of [single, sharded]) {
      const client = await connectClient(gateway.url, service);
      for (const topic of topics) expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: true });
    }
    const one = await scrape(single.url);
    expect(one.value("hub_redis_shard_connected", { shard: "single" })).toBe(1);
    expect(one.value("hub_redis_shard_channels", { shard: "single" })).toBeGreaterThanOrEqual(topics.length);

    const m = await scrape(sharded.url);
    // Masters first as created; nothing failed over here.
    const masters = cluster.nodes.slice(0, 3).map((node) => `127.0.0.1:${node.port}`);
    const shards = m.samples.filter((s) => s.name === "hub_redis_shard_channels");
    // 12 topics over 3 masters: their channels spread over more than one, and every series names a master.
    expect(shards.length).toBeGreaterThan(1);
    for (const { labels } of shards) expect(masters).toContain(labels.shard);
    expect(shards.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(topics.length);
    for (const { labels } of shards) expect(m.value("hub_redis_shard_connected", labels)).toBe(1);
  });
});

describe("GET /metrics on a memory-engine gateway", () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await startGateway({});
  });

  afterAll(async () => {
    closeAllClients();
    await gateway?.stop();
  });

  it("counts broadcasts, deliveries and latency in the memory sink, and has no Redis connection", async () => {
    const org = fresh("memorg");
    const service = await serviceToken("metrics-test");
    const clients = [await connectClient(gateway.url, service), await connectClient(gateway.url, service)];
    for (const client of clients) expect(await request(client, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
    const id = fresh("mem-ev-");
    const arrived = clients.map((client) => nextEvent(client, "roster.player_hired", id));
    expect((await publish(gateway.url, service, { id, type: "roster.player_hired", org_id: org, payload: {} })).status).toBe(202);
    await within("the event on both clients", Promise.all(arrived));

    const m = await scrape(gateway.url);
    expect(m.value("hub_connections")).toBe(2);
    expect(m.value("hub_subscriptions", { namespace: "org" })).toBe(2);
    expect(m.value("hub_broadcasts_total", { namespace: "org" })).toBe(1);
    expect(m.value("hub_deliveries_total", { namespace: "org" })).toBe(2);
    expect(m.value("hub_publish_to_emit_seconds_count")).toBe(1);
    expect(m.value("hub_events_in_total", { source: "http", type: "roster.*" })).toBe(1);
    expect(m.families).toContain("hub_redis_connected");
    expect(m.value("hub_redis_connected")).toBeUndefined();
    for (const secret of [org, id, service]) expect(m.text).not.toContain(secret);
  });
});
