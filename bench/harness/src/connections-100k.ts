// 100,000 idle subscribed connections over several server processes on one machine, and one
// broadcast to all of them timed. A scenario of its own (not a phase of `connections`): that one
// measures one node's memory per connection, comparable from run to run; this one is about scale.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { createHubEmitter } from "@hub/emitter";
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import { FD_MARGIN, openFileLimit } from "./connections.js";
import type { LatencySummary } from "./latency-histogram.js";
import { ClientFleet, type FleetTotals } from "./load/client-fleet.js";
import type { WireProtocol } from "./load/wire-connection.js";
import { NoiseMeter } from "./machine.js";
import { processCpuMicros } from "./process-cpu.js";
import { processRssBytes } from "./process-memory.js";
import { BENCH_ORG, type BenchPayload, type SystemName, type SystemUnderTest, startSystem } from "./systems.js";

const TOURNAMENT = "bench";
/** The one topic every connection subscribes to (plain: the room of that name). */
const TOPIC = `tournament:${TOURNAMENT}`;

export interface Connections100kParams {
  /** Idle connections over all server processes, each subscribed to the one topic. */
  connections: number;
  /** Server processes (gateways, or plain Socket.IO servers joined by the Redis adapter). */
  nodes: number;
  /** Client processes opening the connections. */
  clientProcesses: number;
  /** Opened first (spread over the nodes) and kept open, before the "before" memory figures. */
  warmupConnections: number;
  /** Waited after the last connection before the "after" figures and the first broadcast. */
  settleMs: number;
  /** Broadcasts to everyone, one at a time. */
  broadcasts: number;
  /** Pause after one broadcast reached everyone (or timed out) before the next. */
  broadcastGapMs: number;
  /** Hard limit on opening the connections: none is started after it, and the run goes on with those open. */
  connectTimeoutMs: number;
  /** Hard limit on one broadcast reaching everyone. */
  broadcastTimeoutMs: number;
  /** Source addresses (127.0.0.x) the clients use in turn; `connections100kPlan` fills it in. */
  localAddresses?: string[];
}

export const CONNECTIONS_100K_QUICK: Connections100kParams = {
  connections: 20_000,
  nodes: 3,
  clientProcesses: 2,
  warmupConnections: 60,
  settleMs: 2_000,
  broadcasts: 3,
  broadcastGapMs: 1_000,
  connectTimeoutMs: 240_000,
  broadcastTimeoutMs: 20_000,
};
export const CONNECTIONS_100K_FULL: Connections100kParams = {
  connections: 100_000,
  nodes: 6,
  clientProcesses: 6,
  warmupConnections: 120,
  settleMs: 5_000,
  broadcasts: 5,
  broadcastGapMs: 2_000,
  // 100,000 hub handshakes at 125/s (both cores busy with other work) take 13 minutes; about 1,300/s on a quiet machine.
  connectTimeoutMs: 900_000,
  // One broadcast to 100,000 took 8 to 35 s with 1.3 cores of other work on the machine.
  broadcastTimeoutMs: 60_000,
};

/** The systems compared: the issue sets the hub against plain Socket.IO here. */
export const CONNECTIONS_100K_SYSTEMS: SystemName[] = ["hub", "plain"];

export interface BroadcastResult {
  /** Main-fleet clients that received the event within the time limit. */
  received: number;
  /** Connections that should have received it and did not. */
  lost: number;
  /** Publish to the last receipt, on the machine's clock. */
  latencyMs: LatencySummary;
  /** The server processes' CPU time from the publish to the last receipt, ms (10 ms resolution). */
  serverCpuMs: number;
}

export interface Connections100kResult {
  system: SystemName;
  params: Connections100kParams;
  connected: number;
  connectFailures: number;
  /** Connections not started because the connect phase's time limit passed (the broadcasts go to those connected). */
  notStarted: number;
  connectError?: string;
  /** A phase that hit its time limit, or a start-up failure: the figures after it are missing. */
  error?: string;
  /** Connections per second over the whole fleet (the slowest client process's time). */
  connectsPerSecond: number;
  /** VmRSS summed over the server processes, before (warm-up connections open) and after. */
  rssBeforeBytes: number;
  rssAfterBytes: number;
  rssBytesPerConnection: number;
  /** V8 heap used summed over the server processes (hub /metrics, baselines /stats), growth per connection. */
  heapBytesPerConnection: number;
  /** VmRSS of the client processes per connection they hold (the load generator's own cost). */
  clientRssBytesPerConnection: number;
  broadcasts: BroadcastResult[];
  /** The median over the broadcasts of each one's p99 (and p50): the headline figures. */
  medianP99Ms: number;
  medianP50Ms: number;
  /** Connections that closed after they subscribed, up to the last broadcast. */
  dropped: number;
  /** Cores other processes on the machine kept busy on average while this system ran. */
  otherCores: number;
}

const POLL_MS = 100;

function ephemeralPorts(): number {
  const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  return (high ?? 0) - (low ?? 0) + 1;
}

/**
 * What this machine needs for `params`: enough server and client processes that none holds more
 * connections than its open-file limit allows, and enough 127.0.0.x source addresses (from
 * 127.0.0.2) that binding a source port stays fast. A client socket bound to an address takes a port
 * of that address's range whatever the destination, and Linux's bind() to port 0 picks the even ports
 * of the lower half of the range first: past that quarter of the range every bind scans the whole
 * range (here 3,000 binds to one address took ~1 s up to 6,000 bound, the next 3,000 took 9.5 s).
 */
export function connections100kPlan(params: Connections100kParams): Connections100kParams {
  const perProcess = openFileLimit() - FD_MARGIN;
  const total = params.connections + params.warmupConnections;
  const nodes = Math.max(params.nodes, Math.ceil(total / perProcess));
  const clientProcesses = Math.max(params.clientProcesses, Math.ceil(params.connections / perProcess));
  const addresses = Math.max(2, Math.ceil(total / Math.floor((ephemeralPorts() / 4) * 0.85)));
  const localAddresses = Array.from({ length: addresses }, (_, i) => `127.0.0.${i + 2}`);
  return { ...params, nodes, clientProcesses, localAddresses };
}

/**
 * Starts `name` with `params.nodes` server processes, opens the connections (each subscribed to the
 * one topic), reads the servers' memory, and times `params.broadcasts` broadcasts to everyone.
 * Every phase is bounded: past the connect limit no connection is started and the run goes on with
 * those open; a broadcast that hits its limit ends the run. Either sets `error`.
 */
export async function runConnections100k(
  name: SystemName,
  params: Connections100kParams,
  redisUrl: string,
): Promise<Connections100kResult> {
  const noise = new NoiseMeter();
  const result: Connections100kResult = {
    system: name,
    params,
    connected: 0,
    connectFailures: 0,
    notStarted: 0,
    connectsPerSecond: 0,
    rssBeforeBytes: 0,
    rssAfterBytes: 0,
    rssBytesPerConnection: Number.NaN,
    heapBytesPerConnection: Number.NaN,
    clientRssBytesPerConnection: Number.NaN,
    broadcasts: [],
    medianP99Ms: Number.NaN,
    medianP50Ms: Number.NaN,
    dropped: 0,
    otherCores: 0,
  };
  let system: SystemUnderTest | undefined;
  let producer: Producer | undefined;
  const fleets: ClientFleet[] = [];
  try {
    system = await startSystem(name, { redisUrl, nodes: params.nodes });
    producer = startProducer(name, redisUrl);
    // Each hub connection signs its own user token (user u<i>): 100,000 connections of one user would pass the
    // per-user connection limit (at most 100,000), and a realistic audience is many users. So the topic is a
    // tournament's (no presence): on an org topic each of 100,000 users joining would announce itself to all.
    const protocol: WireProtocol = { kind: "socket.io", auth: name === "hub" ? { userTokenOrg: BENCH_ORG } : undefined, topic: TOPIC };
    const local = params.localAddresses ? { localAddresses: params.localAddresses } : {};
    const warm = await ClientFleet.start({ urls: system.urls, protocol, connections: params.warmupConnections, processes: 1, ...local });
    fleets.push(warm.fleet);
    await sleep(1_000);
    const before = await memory(system);
    result.rssBeforeBytes = before.rssBytes;
    const started = await ClientFleet.start({
      urls: system.urls,
      protocol,
      connections: params.connections,
      processes: params.clientProcesses,
      deadlineMs: params.connectTimeoutMs,
      ...local,
    });
    const fleet = started.fleet;
    fleets.push(fleet);
    result.connected = started.connected;
    result.connectFailures = started.failed;
    result.notStarted = started.skipped;
    if (started.skipped)
      result.error = `${started.skipped} connections not started: the ${params.connectTimeoutMs / 1000} s limit on connecting passed`;
    if (started.firstError) result.connectError = started.firstError;
    result.connectsPerSecond = started.connected / (started.connectMs / 1000);
    await sleep(params.settleMs);
    const after = await memory(system);
    const n = Math.max(1, started.connected);
    result.rssAfterBytes = after.rssBytes;
    result.rssBytesPerConnection = (after.rssBytes - before.rssBytes) / n;
    result.heapBytesPerConnection = (after.heapUsedBytes - before.heapUsedBytes) / n;
    result.clientRssBytesPerConnection = fleet.pids.reduce((sum, pid) => sum + processRssBytes(pid), 0) / n;
    // Drops since each connection subscribed: so far, then per broadcast (each reset zeroes the count).
    let dropped = (await fleet.totals(0)).dropped;
    for (let seq = 0; seq < params.broadcasts; seq++) {
      if (seq > 0) await sleep(params.broadcastGapMs);
      const outcome = await broadcast(system, producer, fleet, seq, started.connected, params.broadcastTimeoutMs);
      dropped += outcome.dropped;
      result.broadcasts.push(outcome.result);
      if (outcome.timedOut) {
        result.error = `${result.error ? `${result.error}; ` : ""}broadcast ${seq + 1}: ${outcome.result.received} of ${started.connected} received after ${params.broadcastTimeoutMs} ms`;
        break;
      }
    }
    result.dropped = dropped;
    result.medianP99Ms = median(result.broadcasts.map((b) => b.latencyMs.p99));
    result.medianP50Ms = median(result.broadcasts.map((b) => b.latencyMs.p50));
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    await Promise.all(fleets.map((f) => f.close()));
    producer?.close();
    await system?.close();
    result.otherCores = noise.take();
  }
  return result;
}

/** Publishes event `seq` and waits until every one of `expected` clients received it, or the limit. */
async function broadcast(
  system: SystemUnderTest,
  producer: Producer,
  fleet: ClientFleet,
  seq: number,
  expected: number,
  timeoutMs: number,
): Promise<{ result: BroadcastResult; dropped: number; timedOut: boolean }> {
  await fleet.reset(seq);
  const cpuBefore = serverCpu(system);
  const sentAt = performance.timeOrigin + performance.now();
  const published = producer.publish({ bench_seq: seq, bench_sent: sentAt, pad: "" });
  const deadline = Date.now() + timeoutMs;
  let received = 0;
  while (received < expected && Date.now() < deadline) {
    await sleep(POLL_MS);
    received = (await fleet.progress()).received;
  }
  const cpuMs = (serverCpu(system) - cpuBefore) / 1000;
  await published;
  const totals: FleetTotals = await fleet.totals(sentAt);
  return {
    result: { received: totals.received, lost: expected - totals.received, latencyMs: totals.latencyMs, serverCpuMs: cpuMs },
    dropped: totals.dropped,
    timedOut: totals.received < expected,
  };
}

/** Publishes to `TOPIC`: the hub through the emitter SDK, plain through `@socket.io/redis-emitter`. */
interface Producer {
  publish(payload: BenchPayload): Promise<unknown>;
  close(): void;
}

function startProducer(name: SystemName, redisUrl: string): Producer {
  const redis = new Redis(redisUrl);
  const close = () => redis.disconnect();
  if (name === "hub") {
    const emitter = createHubEmitter({ redis });
    return {
      // Routed to `tournament:<payload.tournament_id>`, delivered as `match_confirmed` with `{ match: payload }`.
      publish: (payload) =>
        emitter.publish({ type: "tournament_match.confirmed", org_id: BENCH_ORG, payload: { tournament_id: TOURNAMENT, ...payload } }),
      close,
    };
  }
  const emitter = new Emitter(redis);
  return {
    publish: async (payload) => {
      emitter.to(TOPIC).emit("match_confirmed", payload);
      await redis.ping();
    },
    close,
  };
}

function serverCpu(system: SystemUnderTest): number {
  return system.serverPids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** VmRSS and V8 heap used, summed over the server processes. */
async function memory(system: SystemUnderTest): Promise<{ rssBytes: number; heapUsedBytes: number }> {
  let rssBytes = 0;
  let heapUsedBytes = 0;
  for (const [i, pid] of system.serverPids.entries()) {
    rssBytes += processRssBytes(pid);
    const base = system.httpUrls[i] as string;
    if (system.name === "hub") {
      const text = await (await fetch(`${base}/metrics`)).text();
      heapUsedBytes += Number(/^hub_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
    } else {
      heapUsedBytes += ((await (await fetch(`${base}/stats`)).json()) as { heapUsed: number }).heapUsed;
    }
  }
  return { rssBytes, heapUsedBytes };
}
