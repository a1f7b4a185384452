import { setTimeout as sleep } from "node:timers/promises";
import { LatencyHistogram, type LatencySummary } from "./latency-histogram.js";
import { ClientFleet } from "./load/client-fleet.js";
import { now, produceAtRate, waitForFleet } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";
import type { BenchPayload, SystemName, SystemUnderTest } from "./systems.js";

export interface FanoutParams {
  /** Subscribers of the one topic, split evenly over the server processes. */
  subscribers: number;
  /** Events per second the producer publishes. */
  rate: number;
  /** Length of the measured window. */
  seconds: number;
  /** Published before the window at the same rate and not measured (JIT, buffers, connections). */
  warmupSeconds: number;
  /** Approximate JSON size of each event's payload. */
  payloadBytes: number;
  /** How long after the last publish deliveries may still arrive before the rest count as lost. */
  drainMs: number;
}

export const FANOUT_QUICK: FanoutParams = {
  subscribers: 2_000,
  rate: 20,
  seconds: 15,
  warmupSeconds: 3,
  payloadBytes: 200,
  drainMs: 10_000,
};
export const FANOUT_FULL: FanoutParams = {
  subscribers: 20_000,
  rate: 2,
  seconds: 60,
  warmupSeconds: 5,
  payloadBytes: 200,
  drainMs: 20_000,
};

export interface FanoutResult {
  system: SystemName;
  params: FanoutParams;
  connected: number;
  connectFailures: number;
  connectError?: string;
  eventsPublished: number;
  publishFailures: number;
  expectedDeliveries: number;
  received: number;
  /** expectedDeliveries - received; a dropped connection or a failed handshake counts as loss. */
  losses: number;
  outOfOrder: number;
  unreadable: number;
  droppedConnections: number;
  /** Measured deliveries per second of wall time, first measured publish to last receipt. */
  deliveriesPerSecond: number;
  latencyMs: LatencySummary;
  /** Longest the producer sent after an event's scheduled time; large values would hide latency. */
  producerLagMaxMs: number;
  windowSeconds: number;
  /** CPU time of each server process over the window. */
  serverCpuMicros: number[];
  serverCpuMicrosPerDelivery: number;
  /** redis-server CPU over the window per published event (the hub's Lua dedupe + broadcast runs here). */
  redisCpuMicrosPerEvent: number;
  /** Client processes' CPU over the window, as cores busy; near 1 per process means the load generator limited the run. */
  clientCoresBusy: number;
  /** Client processes used. */
  clientProcesses: number;
}

const CLIENT_PROCESSES = 2;

/** One topic, S subscribers over the system's server processes, a producer at a fixed rate. */
export async function runFanout(system: SystemUnderTest, params: FanoutParams, redisPid: number): Promise<FanoutResult> {
  const started = await ClientFleet.start({
    urls: system.urls,
    protocol: system.protocol,
    connections: params.subscribers,
    processes: CLIENT_PROCESSES,
  });
  const { fleet } = started;
  try {
    const pad = padFor(params.payloadBytes);
    const warmupEvents = Math.round(params.rate * params.warmupSeconds);
    const publish = (seq: number, sent: number) => system.publish({ bench_seq: seq, bench_sent: sent, pad } satisfies BenchPayload);
    await produceAtRate(warmupEvents, params.rate, -warmupEvents, publish);
    await waitForFleet(fleet, (p) => p.warmup >= started.connected * warmupEvents, params.drainMs);
    await sleep(500);

    const pids = [...system.serverPids, redisPid];
    const cpuBefore = pids.map(processCpuMicros);
    const clientBefore = (await fleet.progress()).cpuMicros;
    const windowStart = now();
    const events = Math.round(params.rate * params.seconds);
    const { lagMaxMs } = await produceAtRate(events, params.rate, 0, publish);
    const publishFailures = await system.settle();
    const expected = params.subscribers * events;
    const final = await waitForFleet(fleet, (p) => p.received >= expected, params.drainMs);
    const windowEnd = now();
    const cpuAfter = pids.map(processCpuMicros);
    const cpu = cpuAfter.map((after, i) => after - (cpuBefore[i] ?? 0));

    const reports = await fleet.reports();
    const sum = (pick: (r: (typeof reports)[number]) => number) => reports.reduce((n, r) => n + pick(r), 0);
    const received = sum((r) => r.received);
    const lastAt = Math.max(...reports.map((r) => r.lastAt));
    const serverCpu = cpu.slice(0, system.serverPids.length);
    const serverTotal = serverCpu.reduce((n, c) => n + c, 0);
    const windowSeconds = (windowEnd - windowStart) / 1000;
    return {
      system: system.name,
      params,
      connected: started.connected,
      connectFailures: started.failed,
      ...(started.firstError ? { connectError: started.firstError } : {}),
      eventsPublished: events,
      publishFailures,
      expectedDeliveries: expected,
      received,
      losses: expected - received,
      outOfOrder: sum((r) => r.outOfOrder),
      unreadable: sum((r) => r.unreadable),
      droppedConnections: sum((r) => r.dropped),
      deliveriesPerSecond: received / ((Math.max(lastAt, windowStart + 1) - windowStart) / 1000),
      latencyMs: LatencyHistogram.summarize(LatencyHistogram.merge(reports.map((r) => r.latency))),
      producerLagMaxMs: lagMaxMs,
      windowSeconds,
      serverCpuMicros: serverCpu,
      serverCpuMicrosPerDelivery: received ? serverTotal / received : Number.NaN,
      redisCpuMicrosPerEvent: (cpu[system.serverPids.length] ?? 0) / events,
      clientCoresBusy: (final.cpuMicros - clientBefore) / 1e6 / windowSeconds,
      clientProcesses: CLIENT_PROCESSES,
    };
  } finally {
    await fleet.close();
  }
}

function padFor(bytes: number): string {
  const bare: BenchPayload = { bench_seq: 100_000, bench_sent: now(), pad: "" };
  return "x".repeat(Math.max(0, bytes - JSON.stringify(bare).length));
}
