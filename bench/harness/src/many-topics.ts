import { setTimeout as sleep } from "node:timers/promises";
import type { LatencySummary } from "./latency-histogram.js";
import { ClientFleet } from "./load/client-fleet.js";
import type { WireProtocol } from "./load/wire-connection.js";
import { now, produceAtRate, waitForFleet } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";
import { BENCH_ORG, type BenchPayload, type SystemName, type SystemUnderTest } from "./systems.js";

export interface ManyTopicsParams {
  /** Users, each connected once and subscribed to their own `notifications:{user}` topic, spread over the nodes. */
  users: number;
  /** Server processes. */
  nodes: number;
  /** Events per second, each to one user picked at random. */
  rate: number;
  seconds: number;
  warmupSeconds: number;
  payloadBytes: number;
  drainMs: number;
  /** Measured with every user connected and nothing published: what holding the connections costs. */
  idleSeconds: number;
}

export const MANY_TOPICS_QUICK: ManyTopicsParams = {
  users: 10_000,
  nodes: 3,
  rate: 500,
  seconds: 5,
  warmupSeconds: 1,
  payloadBytes: 200,
  drainMs: 10_000,
  idleSeconds: 1,
};
export const MANY_TOPICS_FULL: ManyTopicsParams = {
  ...MANY_TOPICS_QUICK,
  rate: 1_000,
  seconds: 45,
  warmupSeconds: 5,
  drainMs: 20_000,
  idleSeconds: 5,
};

/** The systems with per-user topics; raw forwards every message to every socket, so it has none. */
export const MANY_TOPICS_SYSTEMS: SystemName[] = ["hub", "plain"];

export interface ManyTopicsResult {
  system: SystemName;
  params: ManyTopicsParams;
  connected: number;
  connectFailures: number;
  connectError?: string;
  eventsPublished: number;
  publishFailures: number;
  received: number;
  /** eventsPublished - received (each event has one recipient). */
  losses: number;
  outOfOrder: number;
  droppedConnections: number;
  eventsPerSecond: number;
  latencyMs: LatencySummary;
  producerLagMaxMs: number;
  windowSeconds: number;
  /** CPU time of each node over the window. */
  serverCpuMicros: number[];
  /** Each node's CPU per published event: every node pays for every event when each node receives every broadcast. */
  nodeCpuMicrosPerEvent: number[];
  /** Each node's CPU per second with the users connected and nothing published (pings, timers). */
  nodeIdleCpuMicrosPerSecond: number[];
  /** All nodes' CPU per event after subtracting the idle rate over the window. */
  netCpuMicrosPerEvent: number;
  redisCpuMicrosPerEvent: number;
  clientCoresBusy: number;
}

const CLIENT_PROCESSES = 2;

/** Users on their own topics over several nodes; a producer addresses random users at a fixed rate. */
export async function runManyTopics(system: SystemUnderTest, params: ManyTopicsParams, redisPid: number): Promise<ManyTopicsResult> {
  const publishToUser = system.publishToUser?.bind(system);
  if (!publishToUser || system.protocol.kind !== "socket.io") throw new Error(`many-topics: ${system.name} has no per-user topics`);
  const protocol: WireProtocol = {
    kind: "socket.io",
    auth: system.name === "hub" ? { userTokenOrg: BENCH_ORG } : undefined,
    topic: "notifications:{user}",
  };
  const started = await ClientFleet.start({ urls: system.urls, protocol, connections: params.users, processes: CLIENT_PROCESSES });
  const { fleet } = started;
  try {
    const pad = "x".repeat(Math.max(0, params.payloadBytes - 60));
    const send = (seq: number, sent: number) => {
      const payload: BenchPayload = { bench_seq: seq, bench_sent: sent, pad };
      publishToUser(`u${Math.floor(Math.random() * params.users)}`, payload);
    };
    const warmupEvents = Math.round(params.rate * params.warmupSeconds);
    await produceAtRate(warmupEvents, params.rate, -warmupEvents, send);
    await waitForFleet(fleet, (p) => p.warmup >= warmupEvents * (started.connected / params.users), params.drainMs);
    await sleep(500);

    const idleBefore = system.serverPids.map(processCpuMicros);
    await sleep(params.idleSeconds * 1000);
    const idle = system.serverPids.map((pid, i) => (processCpuMicros(pid) - (idleBefore[i] ?? 0)) / params.idleSeconds);

    const pids = [...system.serverPids, redisPid];
    const cpuBefore = pids.map(processCpuMicros);
    const clientBefore = (await fleet.progress()).cpuMicros;
    const windowStart = now();
    const events = Math.round(params.rate * params.seconds);
    const { lagMaxMs } = await produceAtRate(events, params.rate, 0, send);
    const publishFailures = await system.settle();
    const final = await waitForFleet(fleet, (p) => p.received >= events, params.drainMs);
    const windowEnd = now();
    const cpu = pids.map(processCpuMicros).map((after, i) => after - (cpuBefore[i] ?? 0));
    const totals = await fleet.totals(windowStart);
    const { received } = totals;
    const serverCpu = cpu.slice(0, system.serverPids.length);
    const windowSeconds = (windowEnd - windowStart) / 1000;
    return {
      system: system.name,
      params,
      connected: started.connected,
      connectFailures: started.failed,
      ...(started.firstError ? { connectError: started.firstError } : {}),
      eventsPublished: events,
      publishFailures,
      received,
      losses: events - received,
      outOfOrder: totals.outOfOrder,
      droppedConnections: totals.dropped,
      eventsPerSecond: totals.perSecond,
      latencyMs: totals.latencyMs,
      producerLagMaxMs: lagMaxMs,
      windowSeconds,
      serverCpuMicros: serverCpu,
      nodeCpuMicrosPerEvent: serverCpu.map((c) => c / events),
      nodeIdleCpuMicrosPerSecond: idle,
      netCpuMicrosPerEvent: serverCpu.reduce((n, c, i) => n + c - (idle[i] ?? 0) * windowSeconds, 0) / events,
      redisCpuMicrosPerEvent: (cpu[system.serverPids.length] ?? 0) / events,
      clientCoresBusy: (final.cpuMicros - clientBefore) / 1e6 / windowSeconds,
    };
  } finally {
    await fleet.close();
  }
}
