import { setTimeout as sleep } from "node:timers/promises";
import { FANOUT_QUICK, type FanoutContinuation, type FanoutParams } from "./fanout.js";
import type { LatencySummary } from "./latency-histogram.js";
import type { ClientFleet } from "./load/client-fleet.js";
import { NoiseMeter } from "./machine.js";
import { now, produceAtRate, waitForFleet } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";
import type { BenchPayload, SystemName } from "./systems.js";

export interface SaturationParams {
  /**
   * The fanout set-up the ramp starts from, in a pass of its own; absent: the ramp goes on with the
   * fanout scenario's connections. Full mode needs its own: with 20,000 subscribers one event's burst
   * already takes longer than the p99 limit to deliver on 2 cores, at any rate.
   */
  setup?: FanoutParams;
  /** Each step's rate is the previous one's times this (√2: half of any step's rate is two steps back). */
  growth: number;
  /** Steps at most, after the fanout's own rate (step 0). */
  maxSteps: number;
  /** Length of each step at its rate. */
  stepSeconds: number;
  /** After a step's last publish, how long its deliveries may take before the rest count as not delivered. */
  drainMs: number;
  /** A step whose p99 exceeds this is not sustained. */
  p99LimitMs: number;
}

export const SATURATION_QUICK: SaturationParams = { growth: Math.SQRT2, maxSteps: 10, stepSeconds: 2, drainMs: 2_000, p99LimitMs: 250 };
export const SATURATION_FULL: SaturationParams = {
  setup: FANOUT_QUICK,
  growth: Math.SQRT2,
  maxSteps: 10,
  stepSeconds: 4,
  drainMs: 5_000,
  p99LimitMs: 250,
};

export interface SaturationStep {
  /** Events per second the producer was asked for. */
  rate: number;
  /** "fanout" for step 0 (the fanout scenario's window), "ramp", or "half" (run afterwards at half the saturation rate). */
  kind: "fanout" | "ramp" | "half";
  /** Position in the ramp: rate = fanout rate × growth^index (0 is the fanout window; the half step has its own). */
  index: number;
  /** 2 when the step is the repeat of one that did not hold (a ramp step gets a second try, against one-off noise). */
  attempt: number;
  events: number;
  expectedDeliveries: number;
  received: number;
  /** Not delivered within `drainMs` after the step's last publish, or on a dropped connection. */
  losses: number;
  droppedConnections: number;
  outOfOrder: number;
  deliveriesPerSecond: number;
  latencyMs: LatencySummary;
  producerLagMaxMs: number;
  windowSeconds: number;
  /** All server processes' CPU over the step divided by its wall time. */
  serverCoresBusy: number;
  redisCoresBusy: number;
  clientCoresBusy: number;
  /** Cores busy with work outside this run during the step (other processes on the machine). */
  otherCores: number;
  /** Deliveries per CPU-second of the server processes. */
  deliveriesPerServerCpuSecond: number;
  sustained: boolean;
  /** Why not, when not. */
  failure?: string;
}

export interface SaturationResult {
  system: SystemName;
  params: SaturationParams;
  subscribers: number;
  serverProcesses: number;
  steps: SaturationStep[];
  /** The highest step that held (p99 within the limit, nothing lost); undefined when even the fanout rate did not. */
  highestSustained?: SaturationStep;
  /** What ended the ramp. */
  stoppedBy: string;
  /** The step at half of the highest sustained rate, for the fanout target "p99 < 50 ms at half of the saturation rate". */
  half?: SaturationStep;
}

/**
 * Goes on from the fanout window with the same connections: raises the rate step by step until a
 * step's p99 exceeds the limit or deliveries are lost, then measures half of the highest sustained
 * rate if no step ran there.
 */
export async function runSaturation(ctx: FanoutContinuation, params: SaturationParams): Promise<SaturationResult> {
  const { fanout, system } = ctx;
  const steps: SaturationStep[] = [fromFanout(ctx, params)];
  let nextSeq = ctx.nextSeq;
  // Connections dropped in a step stay gone; later steps expect deliveries only on the live ones.
  let live = ctx.connected - ctx.fanout.droppedConnections;
  const step = async (rate: number, kind: SaturationStep["kind"], index: number, attempt = 1) => {
    const result = { ...(await runStep(ctx, live, rate, kind, attempt, nextSeq, params)), index };
    nextSeq += result.events;
    live -= result.droppedConnections;
    steps.push(result);
    return result;
  };
  let stoppedBy = `${params.maxSteps} steps without saturating`;
  for (let i = 0; i <= params.maxSteps; i++) {
    const rate = fanout.params.rate * params.growth ** i;
    // Step 0 is the fanout window itself.
    let result = i === 0 ? (steps[0] as SaturationStep) : await step(rate, "ramp", i);
    if (!result.sustained) {
      // Once more, after the backlog drained: a step fails twice before it counts as saturation.
      await quiet(ctx.fleet);
      result = await step(rate, "ramp", i, 2);
    }
    if (!result.sustained) {
      stoppedBy = `${fmt(result.rate)} events/s: ${result.failure}`;
      break;
    }
  }
  const highestSustained = steps.filter((s) => s.sustained).at(-1);
  let half: SaturationStep | undefined;
  if (highestSustained) {
    const target = highestSustained.rate / 2;
    half = steps.find((s) => Math.abs(s.rate - target) / target < 0.02);
    if (!half) {
      await quiet(ctx.fleet);
      half = await step(target, "half", Math.log(target / fanout.params.rate) / Math.log(params.growth));
    }
  }
  return {
    system: system.name,
    params,
    subscribers: ctx.connected,
    serverProcesses: system.serverPids.length,
    steps,
    ...(highestSustained ? { highestSustained } : {}),
    stoppedBy,
    ...(half ? { half } : {}),
  };
}

function fromFanout(ctx: FanoutContinuation, params: SaturationParams): SaturationStep {
  const f = ctx.fanout;
  const serverMicros = f.serverCpuMicros.reduce((n, c) => n + c, 0);
  const result: SaturationStep = {
    rate: f.params.rate,
    kind: "fanout",
    index: 0,
    attempt: 1,
    events: f.eventsPublished,
    expectedDeliveries: f.expectedDeliveries,
    received: f.received,
    losses: f.losses,
    droppedConnections: f.droppedConnections,
    outOfOrder: f.outOfOrder,
    deliveriesPerSecond: f.deliveriesPerSecond,
    latencyMs: f.latencyMs,
    producerLagMaxMs: f.producerLagMaxMs,
    windowSeconds: f.windowSeconds,
    serverCoresBusy: serverMicros / 1e6 / f.windowSeconds,
    redisCoresBusy: (f.redisCpuMicrosPerEvent * f.eventsPublished) / 1e6 / f.windowSeconds,
    clientCoresBusy: f.clientCoresBusy,
    otherCores: f.otherCores,
    deliveriesPerServerCpuSecond: serverMicros > 0 ? f.received / (serverMicros / 1e6) : Number.NaN,
    sustained: false,
  };
  return judge(result, params);
}

async function runStep(
  ctx: FanoutContinuation,
  live: number,
  rate: number,
  kind: SaturationStep["kind"],
  attempt: number,
  firstSeq: number,
  params: SaturationParams,
): Promise<SaturationStep> {
  const { system, fleet } = ctx;
  await fleet.reset(firstSeq);
  const noise = new NoiseMeter();
  const pids = [...system.serverPids, ctx.redisPid];
  const cpuBefore = pids.map(processCpuMicros);
  const clientBefore = (await fleet.progress()).cpuMicros;
  const events = Math.max(1, Math.round(rate * params.stepSeconds));
  const expected = live * events;
  const start = now();
  const { lagMaxMs } = await produceAtRate(events, rate, firstSeq, (seq, sent) =>
    system.publish({ bench_seq: seq, bench_sent: sent, pad: ctx.pad } satisfies BenchPayload),
  );
  await system.settle();
  const final = await waitForFleet(fleet, (p) => p.received >= expected, params.drainMs);
  const end = now();
  const cpu = pids.map(processCpuMicros).map((after, i) => after - (cpuBefore[i] ?? 0));
  const totals = await fleet.totals(start);
  const { received } = totals;
  const windowSeconds = (end - start) / 1000;
  const serverMicros = cpu.slice(0, system.serverPids.length).reduce((n, c) => n + c, 0);
  const result: SaturationStep = {
    rate,
    kind,
    index: 0,
    attempt,
    events,
    expectedDeliveries: expected,
    received,
    losses: expected - received,
    droppedConnections: totals.dropped,
    outOfOrder: totals.outOfOrder,
    deliveriesPerSecond: totals.perSecond,
    latencyMs: totals.latencyMs,
    producerLagMaxMs: lagMaxMs,
    windowSeconds,
    serverCoresBusy: serverMicros / 1e6 / windowSeconds,
    redisCoresBusy: (cpu[system.serverPids.length] ?? 0) / 1e6 / windowSeconds,
    clientCoresBusy: (final.cpuMicros - clientBefore) / 1e6 / windowSeconds,
    otherCores: noise.take(),
    deliveriesPerServerCpuSecond: serverMicros > 0 ? received / (serverMicros / 1e6) : Number.NaN,
    sustained: false,
  };
  return judge(result, params);
}

function judge(step: SaturationStep, params: SaturationParams): SaturationStep {
  const failures: string[] = [];
  if (step.losses > 0) failures.push(`${step.losses.toLocaleString("en-US")} deliveries not made within ${params.drainMs / 1000} s`);
  if (step.droppedConnections > 0) failures.push(`${step.droppedConnections} connections dropped`);
  if (step.latencyMs.p99 > params.p99LimitMs) failures.push(`p99 ${step.latencyMs.p99.toFixed(0)} ms > ${params.p99LimitMs} ms`);
  // A producer that could not keep the rate did not offer the step's load.
  if (step.producerLagMaxMs > params.p99LimitMs) failures.push(`the producer fell ${step.producerLagMaxMs.toFixed(0)} ms behind`);
  return failures.length ? { ...step, sustained: false, failure: failures.join(", ") } : { ...step, sustained: true };
}

/** Waits until deliveries stop arriving (a saturated step's backlog), so the next step starts clean. */
async function quiet(fleet: ClientFleet, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let still = 0;
  while (Date.now() < deadline && still < 3) {
    const { received } = await fleet.progress();
    still = received === last ? still + 1 : 0;
    last = received;
    await sleep(200);
  }
}

const fmt = (rate: number) => (rate >= 100 ? rate.toFixed(0) : rate.toFixed(1));
