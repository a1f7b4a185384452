import { setTimeout as sleep } from "node:timers/promises";
import { serviceToken } from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import { LatencyHistogram, type LatencySummary } from "./latency-histogram.js";
import { ClientFleet } from "./load/client-fleet.js";
import { now, produceAtRate, waitForFleet } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";
import { BENCH_ORG, BENCH_TOPIC, type BenchPayload, RAW_CHANNEL, type SystemName, type SystemUnderTest } from "./systems.js";

/**
 * A producer path: the hub's three, and the baselines' own producers, as fast as the producer goes;
 * `legacy-paced` and `plain-paced` are the legacy channel and `@socket.io/redis-emitter` at a fixed
 * rate (`pacedRate`), for latency.
 */
export type IngestPath = "emitter" | "legacy" | "http" | "plain-emitter" | "raw-publish" | "legacy-paced" | "plain-paced";

export const PATHS_OF: Record<SystemName, IngestPath[]> = {
  hub: ["emitter", "legacy", "http", "legacy-paced"],
  plain: ["plain-emitter", "plain-paced"],
  raw: ["raw-publish"],
};

/** Whether a path publishes at the fixed `pacedRate` rather than as fast as it goes. */
export const isPaced = (path: IngestPath): boolean => path === "legacy-paced" || path === "plain-paced";

export interface IngestParams {
  /** Measured events per path. */
  events: number;
  /** Unmeasured events per path first (JIT, connections). */
  warmupEvents: number;
  /** Publishes (emitter, legacy) or requests (http) in flight at once. */
  concurrency: number;
  /** Events per `POST /api/v1/events`. */
  httpBatch: number;
  /** HTTP requests in flight at once. */
  httpConcurrency: number;
  payloadBytes: number;
  /** How long after the last publish deliveries may still arrive. */
  drainMs: number;
  /** Events per second of the paced paths (`legacy-paced`, `plain-paced`). */
  pacedRate: number;
  /** Measured events per paced path. */
  pacedEvents: number;
}

export const INGEST_QUICK: IngestParams = {
  events: 40_000,
  warmupEvents: 4_000,
  concurrency: 256,
  httpBatch: 100,
  httpConcurrency: 4,
  payloadBytes: 200,
  drainMs: 20_000,
  pacedRate: 10_000,
  pacedEvents: 50_000,
};
export const INGEST_FULL: IngestParams = { ...INGEST_QUICK, events: 500_000, warmupEvents: 10_000, drainMs: 60_000, pacedEvents: 200_000 };

export interface IngestResult {
  system: SystemName;
  path: IngestPath;
  params: IngestParams;
  eventsPublished: number;
  publishFailures: number;
  /** Measured deliveries to the one subscriber; an event counts as ingested when it arrived there. */
  delivered: number;
  losses: number;
  outOfOrder: number;
  /** Ingested events per second: first measured publish to the last delivery (and last publish settled). */
  eventsPerSecond: number;
  windowSeconds: number;
  /** Producer send time to subscriber receipt; under a flood this is mostly queueing. */
  latencyMs: LatencySummary;
  /** Gateway / baseline server CPU per event (it also delivers each event to the one subscriber). */
  serverCpuMicrosPerEvent: number;
  redisCpuMicrosPerEvent: number;
  /** The producer's CPU per event (this process: the SDK, redis-emitter, the HTTP client or PUBLISH). */
  producerCpuMicrosPerEvent: number;
  /** Events per CPU-second of the process that validates and dedupes: the producer for emitter paths, the gateway for legacy and http. */
  eventsPerValidatingCore: number;
  /** `hub_events_ingested_total{source,outcome="accepted"}` on the gateway after the run (warm-up included), for legacy and http. */
  gatewayAccepted?: number;
}

/** Events/s through each of the system's producer paths, one after another, with one subscriber counting deliveries. */
export async function runIngest(
  system: SystemUnderTest,
  params: IngestParams,
  options: { redisUrl: string; redisPid: number },
): Promise<IngestResult[]> {
  const results: IngestResult[] = [];
  for (const path of PATHS_OF[system.name]) results.push(await runPath(system, path, params, options));
  return results;
}

async function runPath(
  system: SystemUnderTest,
  path: IngestPath,
  params: IngestParams,
  options: { redisUrl: string; redisPid: number },
): Promise<IngestResult> {
  const redis = new Redis(options.redisUrl);
  const started = await ClientFleet.start({ urls: system.urls, protocol: system.protocol, connections: 1, processes: 1 });
  const { fleet } = started;
  // How far the subscriber has got (measured and warm-up deliveries), for the legacy producer's window.
  const delivered = async () => {
    const p = await fleet.progress();
    return p.received + p.warmup;
  };
  const producer = await createProducer(path, system, redis, params, delivered);
  try {
    if (started.connected !== 1) throw new Error(`ingest ${path}: subscriber did not connect: ${started.firstError}`);
    const pad = "x".repeat(Math.max(0, params.payloadBytes - 60));
    const run = `${Date.now().toString(36)}-${path}`;
    await producer.send(run, -params.warmupEvents, params.warmupEvents, pad);
    await waitForFleet(fleet, (p) => p.warmup >= params.warmupEvents, params.drainMs, 20);
    await sleep(300);

    const pids = [...system.serverPids, options.redisPid];
    const cpuBefore = pids.map(processCpuMicros);
    const producerBefore = process.cpuUsage();
    const windowStart = now();
    const events = isPaced(path) ? params.pacedEvents : params.events;
    const failures = await producer.send(run, 0, events, pad);
    const sentAll = now();
    await waitForFleet(fleet, (p) => p.received >= events, params.drainMs, 20);
    const cpuAfter = pids.map(processCpuMicros);
    const producerCpu = process.cpuUsage(producerBefore);
    const reports = await fleet.reports();
    const report = reports[0];
    const received = report?.received ?? 0;
    const windowEnd = Math.max(report?.lastAt ?? 0, sentAll);
    const cpu = cpuAfter.map((after, i) => after - (cpuBefore[i] ?? 0));
    const serverCpu = cpu.slice(0, system.serverPids.length).reduce((n, c) => n + c, 0);
    const producerMicros = producerCpu.user + producerCpu.system;
    const windowSeconds = (windowEnd - windowStart) / 1000;
    const validatingMicros = path === "emitter" || path === "plain-emitter" || path === "plain-paced" ? producerMicros : serverCpu;
    const accepted = path === "legacy" || path === "http" ? await gatewayAccepted(system.httpUrls, path) : undefined;
    return {
      system: system.name,
      path,
      params,
      eventsPublished: events,
      publishFailures: failures,
      delivered: received,
      losses: events - received,
      outOfOrder: report?.outOfOrder ?? 0,
      eventsPerSecond: received / windowSeconds,
      windowSeconds,
      latencyMs: LatencyHistogram.summarize(LatencyHistogram.merge(reports.map((r) => r.latency))),
      serverCpuMicrosPerEvent: serverCpu / events,
      redisCpuMicrosPerEvent: (cpu[system.serverPids.length] ?? 0) / events,
      producerCpuMicrosPerEvent: producerMicros / events,
      eventsPerValidatingCore: validatingMicros > 0 ? events / (validatingMicros / 1e6) : Number.NaN,
      ...(accepted !== undefined ? { gatewayAccepted: accepted } : {}),
    };
  } finally {
    await fleet.close();
    redis.disconnect();
  }
}

interface Producer {
  /** Sends `count` events with sequence numbers from `firstSeq`; resolves once all settled, with the number that failed. */
  send(run: string, firstSeq: number, count: number, pad: string): Promise<number>;
}

/**
 * The legacy producer keeps at most this many events published and not yet delivered: Redis
 * disconnects a pub/sub subscriber whose output buffer passes `client-output-buffer-limit pubsub`
 * (32 MB), so a producer far ahead of the gateway's ingest would measure Redis dropping the gateway.
 */
export const LEGACY_WINDOW = 10_000;

async function createProducer(
  path: IngestPath,
  system: SystemUnderTest,
  redis: Redis,
  params: IngestParams,
  delivered: () => Promise<number>,
): Promise<Producer> {
  const payload = (seq: number, pad: string): BenchPayload => ({ bench_seq: seq, bench_sent: now(), pad });
  const id = (run: string, seq: number) => `${run}-${seq < 0 ? `w${-seq}` : seq}`;
  switch (path) {
    case "emitter": {
      const hub = createHubEmitter({ redis });
      return {
        send: (run, firstSeq, count, pad) =>
          bounded(count, params.concurrency, async (i) => {
            const seq = firstSeq + i;
            await hub.publish({ id: id(run, seq), type: "roster.bench", org_id: BENCH_ORG, payload: { ...payload(seq, pad) } });
          }),
      };
    }
    case "legacy": {
      let sentTotal = 0;
      let deliveredTotal = 0;
      // One progress query at a time, shared by every lane that waits.
      let refreshing: Promise<void> | undefined;
      const refresh = async () => {
        deliveredTotal = await delivered();
        if (sentTotal - deliveredTotal >= LEGACY_WINDOW) await sleep(5);
      };
      return {
        send: (run, firstSeq, count, pad) =>
          bounded(count, params.concurrency, async (i) => {
            const seq = firstSeq + i;
            while (sentTotal - deliveredTotal >= LEGACY_WINDOW) {
              refreshing ??= refresh().finally(() => {
                refreshing = undefined;
              });
              await refreshing;
            }
            sentTotal++;
            const envelope = {
              id: id(run, seq),
              type: "roster.bench",
              org_id: BENCH_ORG,
              payload: payload(seq, pad),
              published_at: Date.now(),
            };
            await redis.publish(`prostaff:events:${BENCH_ORG}`, JSON.stringify(envelope));
          }),
      };
    }
    case "http": {
      const token = await serviceToken("bench-producer", { expiresIn: 24 * 3600 });
      const url = `${system.httpUrls[0]}/api/v1/events`;
      return {
        async send(run, firstSeq, count, pad) {
          const batches = Math.ceil(count / params.httpBatch);
          let failedEvents = 0;
          await bounded(batches, params.httpConcurrency, async (b) => {
            const events = [];
            for (let i = b * params.httpBatch; i < Math.min(count, (b + 1) * params.httpBatch); i++) {
              const seq = firstSeq + i;
              events.push({ id: id(run, seq), type: "roster.bench", org_id: BENCH_ORG, payload: payload(seq, pad) });
            }
            const res = await fetch(url, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({ events }),
            });
            await res.arrayBuffer();
            if (res.status !== 202) failedEvents += events.length;
          });
          return failedEvents;
        },
      };
    }
    case "plain-emitter": {
      const emitter = new Emitter(redis);
      return {
        async send(_run, firstSeq, count, pad) {
          // redis-emitter does not wait for Redis; a PING per chunk keeps the command buffer bounded.
          for (let i = 0; i < count; i++) {
            emitter.to(BENCH_TOPIC).emit("roster.bench", payload(firstSeq + i, pad));
            if (i % params.concurrency === params.concurrency - 1) await redis.ping();
          }
          await redis.ping();
          return 0;
        },
      };
    }
    case "legacy-paced": {
      const channel = `prostaff:events:${BENCH_ORG}`;
      return {
        send: (run, firstSeq, count, pad) =>
          paced(count, params.pacedRate, firstSeq, (seq, sentAt) =>
            redis.publish(
              channel,
              JSON.stringify({
                id: id(run, seq),
                type: "roster.bench",
                org_id: BENCH_ORG,
                payload: { bench_seq: seq, bench_sent: sentAt, pad },
                published_at: Date.now(),
              }),
            ),
          ),
      };
    }
    case "plain-paced": {
      const emitter = new Emitter(redis);
      return {
        async send(_run, firstSeq, count, pad) {
          // redis-emitter does not wait for Redis: its commands are in flight until the PING answers.
          const failed = await paced(count, params.pacedRate, firstSeq, (seq, sentAt) => {
            emitter.to(BENCH_TOPIC).emit("roster.bench", { bench_seq: seq, bench_sent: sentAt, pad });
            return Promise.resolve();
          });
          await redis.ping();
          return failed;
        },
      };
    }
    case "raw-publish":
      return {
        send: (_run, firstSeq, count, pad) =>
          bounded(count, params.concurrency, async (i) => {
            await redis.publish(RAW_CHANNEL, JSON.stringify(payload(firstSeq + i, pad)));
          }),
      };
  }
}

/** Sends `count` events at `rate` per second (`produceAtRate`), without waiting for each; resolves once all settled, with the number that failed. */
async function paced(
  count: number,
  rate: number,
  firstSeq: number,
  publish: (seq: number, sentAt: number) => Promise<unknown>,
): Promise<number> {
  let failed = 0;
  const settled: Array<Promise<unknown>> = [];
  await produceAtRate(count, rate, firstSeq, (seq, sentAt) => {
    settled.push(
      publish(seq, sentAt).catch(() => {
        failed++;
      }),
    );
  });
  await Promise.all(settled);
  return failed;
}

/** Runs task(0..count-1) with at most `concurrency` in flight; resolves with the number that failed. */
async function bounded(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      try {
        await task(i);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return failed;
}

/** Sums `hub_events_ingested_total{source,outcome="accepted"}` over the gateways' /metrics. */
async function gatewayAccepted(httpUrls: readonly string[], source: string): Promise<number> {
  let total = 0;
  for (const base of httpUrls) {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (line.startsWith("hub_events_ingested_total{") && line.includes(`source="${source}"`) && line.includes('outcome="accepted"')) {
        total += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
    }
  }
  return total;
}
