import { setTimeout as sleep } from "node:timers/promises";
import { ContentCheckers, type ContentCheckResult, checkContent, type Published } from "./content-check.js";
import type { LatencySummary } from "./latency-histogram.js";
import { ClientFleet } from "./load/client-fleet.js";
import { NoiseMeter } from "./machine.js";
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
  /** Real clients (socket.io-client; ws with JSON for raw) that check every message of the window whole. */
  contentCheckers: number;
}

export const FANOUT_QUICK: FanoutParams = {
  subscribers: 2_000,
  rate: 20,
  seconds: 8,
  warmupSeconds: 2,
  payloadBytes: 200,
  drainMs: 10_000,
  contentCheckers: 4,
};
export const FANOUT_FULL: FanoutParams = {
  subscribers: 20_000,
  rate: 2,
  seconds: 45,
  warmupSeconds: 5,
  payloadBytes: 200,
  drainMs: 20_000,
  contentCheckers: 4,
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
  /** Server CPU over the window divided by all deliveries (the fleet's and the content checkers'). */
  serverCpuMicrosPerDelivery: number;
  /** redis-server CPU over the window per published event (the hub's Lua dedupe + broadcast runs here). */
  redisCpuMicrosPerEvent: number;
  /** Client processes' CPU over the window, as cores busy; near 1 per process means the load generator limited the run. */
  clientCoresBusy: number;
  /** Client processes used. */
  clientProcesses: number;
  /** Cores busy with work outside this run during the window (other processes on the machine). */
  otherCores: number;
  /** Every message of the window compared whole by a few real clients. */
  contentCheck: ContentCheckResult;
}

/** What a scenario that goes on with the fanout's connections (saturation) gets. */
export interface FanoutContinuation {
  system: SystemUnderTest;
  fleet: ClientFleet;
  connected: number;
  /** The next unused sequence number. */
  nextSeq: number;
  pad: string;
  redisPid: number;
  fanout: FanoutResult;
}

const CLIENT_PROCESSES = 2;

/**
 * One topic, S subscribers over the system's server processes, a producer at a fixed rate. `then`
 * goes on with the same connections before they close (the saturation ramp).
 */
export async function runFanout<T>(
  system: SystemUnderTest,
  params: FanoutParams,
  redisPid: number,
  then: (continuation: FanoutContinuation) => Promise<T>,
): Promise<{ fanout: FanoutResult; continued: T }> {
  const started = await ClientFleet.start({
    urls: system.urls,
    protocol: system.protocol,
    connections: params.subscribers,
    processes: CLIENT_PROCESSES,
  });
  const { fleet } = started;
  let checkers: ContentCheckers | undefined;
  try {
    checkers = await ContentCheckers.start(system, params.contentCheckers);
    const pad = padFor(params.payloadBytes);
    const warmupEvents = Math.round(params.rate * params.warmupSeconds);
    const published = new Map<number, Published>();
    const publish = (seq: number, sent: number) => {
      const payload: BenchPayload = { bench_seq: seq, bench_sent: sent, pad };
      if (seq < 0) return system.publish(payload);
      const record: Published = { payload: { ...payload } };
      published.set(seq, record);
      system.publish(payload, (id) => {
        record.id = id;
      });
    };
    await produceAtRate(warmupEvents, params.rate, -warmupEvents, publish);
    await waitForFleet(fleet, (p) => p.warmup >= started.connected * warmupEvents, params.drainMs);
    await sleep(500);

    const pids = [...system.serverPids, redisPid];
    const cpuBefore = pids.map(processCpuMicros);
    const clientBefore = (await fleet.progress()).cpuMicros;
    const noise = new NoiseMeter();
    const windowStart = now();
    const events = Math.round(params.rate * params.seconds);
    const { lagMaxMs } = await produceAtRate(events, params.rate, 0, publish);
    const publishFailures = await system.settle();
    const expected = params.subscribers * events;
    const final = await waitForFleet(fleet, (p) => p.received >= expected, params.drainMs);
    const windowEnd = now();
    const cpuAfter = pids.map(processCpuMicros);
    const otherCores = noise.take();
    const cpu = cpuAfter.map((after, i) => after - (cpuBefore[i] ?? 0));
    // The checkers' copies went out in the same window; give them a moment to arrive, then close them.
    await sleep(200);
    const contentCheck = checkContent(system.name, await checkers.collect(), published, events);
    await checkers.close();
    checkers = undefined;

    const totals = await fleet.totals(windowStart);
    const { received } = totals;
    const serverCpu = cpu.slice(0, system.serverPids.length);
    const serverTotal = serverCpu.reduce((n, c) => n + c, 0);
    const windowSeconds = (windowEnd - windowStart) / 1000;
    const fanout: FanoutResult = {
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
      outOfOrder: totals.outOfOrder,
      unreadable: totals.unreadable,
      droppedConnections: totals.dropped,
      deliveriesPerSecond: totals.perSecond,
      latencyMs: totals.latencyMs,
      producerLagMaxMs: lagMaxMs,
      windowSeconds,
      serverCpuMicros: serverCpu,
      serverCpuMicrosPerDelivery: received ? serverTotal / (received + contentCheck.checked) : Number.NaN,
      redisCpuMicrosPerEvent: (cpu[system.serverPids.length] ?? 0) / events,
      clientCoresBusy: (final.cpuMicros - clientBefore) / 1e6 / windowSeconds,
      clientProcesses: CLIENT_PROCESSES,
      otherCores,
      contentCheck,
    };
    const next = await then({ system, fleet, connected: started.connected, nextSeq: events, pad, redisPid, fanout });
    return { fanout, continued: next };
  } finally {
    await checkers?.close();
    await fleet.close();
  }
}

export function padFor(bytes: number): string {
  const bare: BenchPayload = { bench_seq: 100_000, bench_sent: now(), pad: "" };
  return "x".repeat(Math.max(0, bytes - JSON.stringify(bare).length));
}
