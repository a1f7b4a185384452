import { setTimeout as sleep } from "node:timers/promises";
import { type RedisCluster, startRedisCluster } from "@hub/devkit";
import { Redis } from "ioredis";
import { CLUSTER_SYSTEMS, type ClusterSystem, type ClusterSystemName, startClusterSystem } from "./cluster-systems.js";
import { EMITTER_THROUGHPUT_FULL, EMITTER_THROUGHPUT_QUICK, type EmitterThroughputParams } from "./emitter-throughput.js";
import type { LatencySummary } from "./latency-histogram.js";
import { ClientFleet } from "./load/client-fleet.js";
import { redisPid } from "./machine.js";
import { now, produceAtRate, waitForFleet } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";

export interface ClusterScalingParams {
  /** Gateway counts to run, each with every system. */
  gateways: number[];
  /**
   * Users, each connected once to gateway `i % G` and subscribed to their own `notifications:u<i>`:
   * every topic's one member is on one gateway, and the topics are spread evenly. A multiple of
   * every gateway count.
   */
  users: number;
  /** Events per second over all topics, the same for every gateway count. */
  rate: number;
  /** Each measured phase (spread, targeted). */
  seconds: number;
  warmupSeconds: number;
  payloadBytes: number;
  drainMs: number;
  /** Each gateway's CPU with the users connected and nothing published, before and after the phases; their mean is subtracted. */
  idleSeconds: number;
  emitter: EmitterThroughputParams;
}

export const CLUSTER_SCALING_QUICK: ClusterScalingParams = {
  gateways: [2, 3, 4],
  users: 600,
  rate: 400,
  seconds: 2,
  warmupSeconds: 1,
  payloadBytes: 200,
  drainMs: 10_000,
  idleSeconds: 1,
  emitter: EMITTER_THROUGHPUT_QUICK,
};
export const CLUSTER_SCALING_FULL: ClusterScalingParams = {
  ...CLUSTER_SCALING_QUICK,
  users: 6_000,
  rate: 1_000,
  seconds: 15,
  warmupSeconds: 3,
  drainMs: 20_000,
  idleSeconds: 4,
  emitter: EMITTER_THROUGHPUT_FULL,
};

/** One measured phase of one system at one gateway count. */
export interface ScalingPhase {
  events: number;
  publishFailures: number;
  received: number;
  /** events - received (each event has one recipient). */
  losses: number;
  windowSeconds: number;
  latencyMs: LatencySummary;
  /** Events addressed to a user on each gateway: the events that concern it. */
  concerning: number[];
  /** Each gateway's CPU over the window less its idle rate (µs). */
  netCpuMicros: number[];
  /** Room broadcasts each gateway received from Redis pub/sub over the window. */
  pubsubMessages: number[];
  /** Every node of the Redis Cluster (masters and replicas), summed, less their idle rate (µs). */
  redisCpuMicros: number;
}

/** One system at one gateway count. */
export interface ScalingRun {
  system: ClusterSystemName;
  gateways: number;
  params: Omit<ClusterScalingParams, "emitter">;
  connected: number;
  connectFailures: number;
  connectError?: string;
  /** Each gateway's CPU per second with the users connected and nothing published (µs/s): the mean of before and after the phases. */
  idleCpuMicrosPerSecond: number[];
  /** The two idle measurements, before the phases and after them (µs/s, each gateway). */
  idleBeforeAfterCpuMicrosPerSecond: [number[], number[]];
  /** All Redis Cluster nodes' CPU per second meanwhile (µs/s). */
  redisIdleCpuMicrosPerSecond: number;
  /** Events to users picked at random over every gateway. */
  spread: ScalingPhase;
  /** Events only to users on the last gateway: the others' CPU is what events that do not concern them cost. */
  targeted: ScalingPhase;
  /** spread: each gateway's net CPU over the events that concern it (what it pays per event of its own, others' included). */
  cpuMicrosPerConcerningEvent: number[];
  /** targeted: the last gateway's net CPU per event (all concern it). */
  targetCpuMicrosPerEvent: number;
  /** targeted: each other gateway's net CPU per event (none concerns it). */
  otherCpuMicrosPerEvent: number[];
  /** spread: broadcasts received by all gateways per event (the pub/sub messages Redis sent per event). */
  messagesPerEvent: number;
  /** targeted: broadcasts received by the other gateways per event (0 where they are not subscribed). */
  otherMessagesPerEvent: number;
  /** spread: all Redis Cluster nodes' CPU per event, net of their idle rate. */
  redisCpuMicrosPerEvent: number;
}

const CLIENT_PROCESSES = 2;

/** Starts one Redis Cluster for the scenario and hands it, with its nodes' pids, to `body`. */
export async function withRedisCluster<T>(body: (cluster: RedisCluster, pids: number[]) => Promise<T>): Promise<T> {
  const cluster = await startRedisCluster();
  try {
    const pids = await Promise.all(
      cluster.nodes.map(async (node) => {
        const client = new Redis(node.url);
        try {
          return await redisPid(client);
        } finally {
          client.disconnect();
        }
      }),
    );
    return await body(cluster, pids);
  } finally {
    await cluster.stop();
  }
}

/** Each system at every gateway count, one after another on `cluster` (flushed between runs). */
export async function runClusterScaling(
  cluster: RedisCluster,
  redisPids: number[],
  params: ClusterScalingParams,
  log: (line: string) => void,
  systems: readonly ClusterSystemName[] = CLUSTER_SYSTEMS,
): Promise<ScalingRun[]> {
  const { emitter: _, ...own } = params;
  const runs: ScalingRun[] = [];
  for (const gateways of params.gateways) {
    if (params.users % gateways !== 0) throw new Error(`cluster-scaling: ${params.users} users do not divide over ${gateways} gateways`);
    for (const name of systems) {
      await cluster.flush();
      const system = await startClusterSystem(name, cluster, gateways);
      try {
        const run = await runOne(system, gateways, own, redisPids);
        runs.push(run);
        log(describe(run));
      } finally {
        await system.close();
      }
    }
  }
  return runs;
}

async function runOne(
  system: ClusterSystem,
  gateways: number,
  params: Omit<ClusterScalingParams, "emitter">,
  redisPids: number[],
): Promise<ScalingRun> {
  const started = await ClientFleet.start({
    urls: system.urls,
    protocol: system.protocol,
    connections: params.users,
    processes: CLIENT_PROCESSES,
  });
  const { fleet } = started;
  try {
    const pad = "x".repeat(Math.max(0, params.payloadBytes - 60));
    // Connection i went to gateway i % G as user u<i>: a user of gateway `g` is u<j * G + g>.
    const perGateway = params.users / gateways;
    const userOn = (g: number) => Math.floor(Math.random() * perGateway) * gateways + g;
    const anyUser = () => Math.floor(Math.random() * params.users);

    const warmup = Math.round(params.rate * params.warmupSeconds);
    await produceAtRate(warmup, params.rate, -warmup, (seq, sent) =>
      system.publishToUser(`u${anyUser()}`, { bench_seq: seq, bench_sent: sent, pad }),
    );
    await waitForFleet(fleet, (p) => p.warmup >= warmup * (started.connected / params.users), params.drainMs);
    await sleep(500);

    // Gateways' and redis-servers' CPU rate with nothing published (pings, timers, the cluster bus),
    // before and after the phases: the phases are charged the mean of the two.
    const pids = [...system.serverPids, ...redisPids];
    const idleRate = async () => {
      const before = pids.map(processCpuMicros);
      await sleep(params.idleSeconds * 1000);
      return pids.map((pid, i) => (processCpuMicros(pid) - (before[i] ?? 0)) / params.idleSeconds);
    };
    const idleBefore = await idleRate();

    const events = Math.round(params.rate * params.seconds);
    const phase = async (firstSeq: number, pick: () => number) => {
      await fleet.reset(firstSeq);
      const concerning = Array.from({ length: gateways }, () => 0);
      const messagesBefore = await system.pubsubMessages();
      const cpuBefore = pids.map(processCpuMicros);
      const windowStart = now();
      await produceAtRate(events, params.rate, firstSeq, (seq, sent) => {
        const user = pick();
        concerning[user % gateways] = (concerning[user % gateways] ?? 0) + 1;
        system.publishToUser(`u${user}`, { bench_seq: seq, bench_sent: sent, pad });
      });
      const publishFailures = await system.settle();
      await waitForFleet(fleet, (p) => p.received >= events, params.drainMs);
      const windowSeconds = (now() - windowStart) / 1000;
      const cpu = pids.map(processCpuMicros).map((after, i) => after - (cpuBefore[i] ?? 0));
      const messagesAfter = await system.pubsubMessages();
      const totals = await fleet.totals(windowStart);
      const measured = {
        events,
        publishFailures,
        received: totals.received,
        losses: events - totals.received,
        windowSeconds,
        latencyMs: totals.latencyMs,
        concerning,
        pubsubMessages: messagesAfter.map((m, g) => m - (messagesBefore[g] ?? 0)),
      };
      return { measured, cpu };
    };
    const spreadRaw = await phase(0, anyUser);
    const target = gateways - 1;
    const targetedRaw = await phase(events, () => userOn(target));
    const idleAfter = await idleRate();
    const idle = idleBefore.map((rate, i) => (rate + (idleAfter[i] ?? rate)) / 2);
    const net = ({ measured, cpu }: Awaited<ReturnType<typeof phase>>): ScalingPhase => {
      const netCpu = cpu.map((c, i) => c - (idle[i] ?? 0) * measured.windowSeconds);
      return { ...measured, netCpuMicros: netCpu.slice(0, gateways), redisCpuMicros: netCpu.slice(gateways).reduce((n, c) => n + c, 0) };
    };
    const spread = net(spreadRaw);
    const targeted = net(targetedRaw);
    const others = targeted.netCpuMicros.slice(0, target);
    const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);
    return {
      system: system.name,
      gateways,
      params,
      connected: started.connected,
      connectFailures: started.failed,
      ...(started.firstError ? { connectError: started.firstError } : {}),
      idleCpuMicrosPerSecond: idle.slice(0, gateways),
      idleBeforeAfterCpuMicrosPerSecond: [idleBefore.slice(0, gateways), idleAfter.slice(0, gateways)],
      redisIdleCpuMicrosPerSecond: idle.slice(gateways).reduce((n, c) => n + c, 0),
      spread,
      targeted,
      cpuMicrosPerConcerningEvent: spread.netCpuMicros.map((c, g) => c / (spread.concerning[g] || Number.NaN)),
      targetCpuMicrosPerEvent: (targeted.netCpuMicros[target] ?? 0) / events,
      otherCpuMicrosPerEvent: others.map((c) => c / events),
      messagesPerEvent: sum(spread.pubsubMessages) / events,
      otherMessagesPerEvent: sum(targeted.pubsubMessages.slice(0, target)) / target / events,
      redisCpuMicrosPerEvent: spread.redisCpuMicros / events,
    };
  } finally {
    await fleet.close();
  }
}

/** The run's figures on one line, as main.ts prints them. */
function describe(r: ScalingRun): string {
  const us = (xs: number[]) => xs.map((x) => x.toFixed(1)).join("/");
  return (
    `cluster-scaling: ${r.system}, ${r.gateways} gateways: µs per event that concerns the gateway ${us(r.cpuMicrosPerConcerningEvent)}; ` +
    `targeted: the target ${r.targetCpuMicrosPerEvent.toFixed(1)}, the others ${us(r.otherCpuMicrosPerEvent)} µs/event; ` +
    `messages/event ${r.messagesPerEvent.toFixed(2)} (others on targeted ${r.otherMessagesPerEvent.toFixed(2)}); ` +
    `redis ${r.redisCpuMicrosPerEvent.toFixed(1)} µs/event; p99 ${r.spread.latencyMs.p99.toFixed(1)} ms; ` +
    `losses ${r.spread.losses + r.targeted.losses}, connect failures ${r.connectFailures}`
  );
}
