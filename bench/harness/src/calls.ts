import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { HubProcess } from "@hub/devkit";
import { Redis } from "ioredis";
import { type HistogramSnapshot, LatencyHistogram, type LatencySummary } from "./latency-histogram.js";
import type { CallAssignment, CallClientReport, CallProgress, EventCount, FromCallClients, ToCallClients } from "./load/call-messages.js";
import { askChild, closeChild, forkScript } from "./load/child-ipc.js";
import { now } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";
import { BENCH_ORG, spawnBaselines, spawnGateways } from "./systems.js";

export interface CallsParams {
  /** Calls set up at once (all stay up until every one is), then torn down. */
  calls: number;
  /** Initiates per second while setting them up, and hang-ups per second while tearing them down. */
  callRate: number;
  /** ICE candidates each party sends once it got `call:answered`. */
  candidates: number;
  /** Calls left ringing until their ring timeout misses them. */
  ringing: number;
  /** Initiates per second of the ringing calls. */
  ringRate: number;
  /** `CALL_RING_TIMEOUT_MS` of the ring phase (the hub's minimum is 1000). */
  ringTimeoutMs: number;
  /** Caller/callee pairs per client process (2 connections each; one process may open 20,000 files here). */
  pairsPerProcess: number;
  /** Measured with every pair connected and nothing sent: what holding the connections (and sweeping) costs. */
  idleSeconds: number;
  /** How long to wait for outstanding events after the last request or deadline. */
  drainMs: number;
}

export const CALLS_QUICK: CallsParams = {
  calls: 200,
  callRate: 40,
  candidates: 10,
  ringing: 1_000,
  ringRate: 200,
  ringTimeoutMs: 5_000,
  pairsPerProcess: 2_500,
  idleSeconds: 2,
  drainMs: 15_000,
};
export const CALLS_FULL: CallsParams = { ...CALLS_QUICK, calls: 2_000, ringing: 10_000, drainMs: 30_000 };

/** The hub against a plain Socket.IO relay with an in-memory call map (raw has no requests). */
export const CALLS_SYSTEMS = ["hub", "plain"] as const;
export type CallsSystem = (typeof CALLS_SYSTEMS)[number];

/** Lost and duplicated events of a phase, per event and party, and events that should not have come. */
export interface EventTally {
  events: Record<string, EventCount>;
  lost: number;
  duplicated: number;
  unexpected: Record<string, number>;
  /** Requests acknowledged with `ok: false`. */
  refused: number;
  firstRefusal?: string;
  /** Connections that closed during the phase. */
  dropped: number;
}

interface PhaseBase extends EventTally {
  connected: number;
  connectFailures: number;
  connectError?: string;
  /** First initiate to the last event waited for. */
  windowSeconds: number;
  /** Each server process's CPU over the window. */
  serverCpuMicros: number[];
  /** redis-server's CPU over the window (the hub's; plain uses none). */
  redisCpuMicros: number;
  /** (servers + redis-server) / calls. */
  cpuMicrosPerCall: number;
  /** Each server process's and redis-server's CPU per second with every pair connected and nothing sent (the same order). */
  idleCpuMicrosPerSecond: number[];
  /** `cpuMicrosPerCall` after subtracting the idle rate over the window. */
  netCpuMicrosPerCall: number;
  /** How far the slowest client process fell behind its initiate schedule. */
  initiateLagMaxMs: number;
  clientCoresBusy: number;
}

/** Calls answered, with candidates both ways, then hung up. */
export interface AnsweredPhase extends PhaseBase {
  /** Calls whose candidates arrived both ways (and `call:answered` at both parties). */
  established: number;
  /** Calls whose `call:ended` reached both parties. */
  ended: number;
  /** Established calls over the time from the first initiate to the last established. */
  callsPerSecond: number;
  /** (servers + redis-server) CPU per call, net of idle, from the first initiate to the last call set up. */
  setupCpuMicrosPerCall: number;
  /** The same from the first hang-up to the last `call:ended`. */
  teardownCpuMicrosPerCall: number;
  initiateAckMs: LatencySummary;
  incomingMs: LatencySummary;
  answerRoundTripMs: LatencySummary;
  iceRelayMs: LatencySummary;
  endRoundTripMs: LatencySummary;
}

/** The hub's `hub_entity_deadline_lateness_seconds{kind="call"}`, summed over the gateways. */
export interface ServerLateness {
  count: number;
  sumSeconds: number;
  /** Cumulative counts by upper bound (seconds). */
  buckets: Array<{ le: string; count: number }>;
}

/** Calls nobody answers, until the ring timeout misses them. */
export interface RingPhase extends PhaseBase {
  /** Calls whose `call:missed` reached both parties. */
  missed: number;
  /** `call:missed` at the callee minus (the initiate's send time + the ring timeout). */
  latenessMs: LatencySummary;
  incomingMs: LatencySummary;
  serverLateness?: ServerLateness;
}

export interface CallsResult {
  system: CallsSystem;
  params: CallsParams;
  answered: AnsweredPhase;
  ring: RingPhase;
}

/**
 * Plain holds both parties of every call in one process: 2 open files per pair, and this machine's
 * open-file limit is 20,000 per process, so plain's phases run at most this many pairs (full mode's
 * 10,000 ringing calls are cut to it; the report says so).
 */
export const PLAIN_MAX_PAIRS = 9_500;

const CLIENTS = fileURLToPath(new URL("./load/call-clients.ts", import.meta.url));
const PLAIN_CALL_SERVER = "bench/harness/src/servers/plain-call-server.ts";

/** Both phases of the calls scenario against one system, each on freshly started servers and an empty Redis. */
export async function runCalls(system: CallsSystem, params: CallsParams, redis: { url: string; pid: number }): Promise<CallsResult> {
  const client = new Redis(redis.url);
  try {
    await client.flushall();
    const answered = await runPhase(system, params, redis, "answered");
    await client.flushall();
    const ring = await runPhase(system, params, redis, "ring");
    return { system, params, answered: answered as AnsweredPhase, ring: ring as RingPhase };
  } finally {
    client.disconnect();
  }
}

async function runPhase(
  system: CallsSystem,
  params: CallsParams,
  redis: { url: string; pid: number },
  phase: "answered" | "ring",
): Promise<AnsweredPhase | RingPhase> {
  const answer = phase === "answered";
  const calls = Math.min(answer ? params.calls : params.ringing, system === "plain" ? PLAIN_MAX_PAIRS : Number.POSITIVE_INFINITY);
  const rate = answer ? params.callRate : params.ringRate;
  // The answered phase keeps the default ring timeout (60 s): its calls must not be missed.
  const env: Record<string, string> = { REDIS_URL: redis.url, ...(answer ? {} : { CALL_RING_TIMEOUT_MS: String(params.ringTimeoutMs) }) };
  // Hub: callers on gateway 1, callees on gateway 2. Plain keeps its calls in memory: one process for both.
  const servers = system === "hub" ? await spawnGateways(2, env) : await spawnBaselines(PLAIN_CALL_SERVER, 1, env);
  const clients: ChildProcess[] = [];
  try {
    const urls = servers.map((s) => `ws://127.0.0.1:${s.port}/socket.io/?EIO=4&transport=websocket`);
    const serverPids = servers.map((s) => s.process.child.pid as number);
    const processes = Math.ceil(calls / params.pairsPerProcess);
    let first = 0;
    const assignments = Array.from({ length: processes }, (_, p): CallAssignment => {
      const count = Math.floor(calls / processes) + (p < calls % processes ? 1 : 0);
      first += count;
      return {
        dialect: system,
        callerUrl: urls[0] as string,
        calleeUrl: urls.at(-1) as string,
        firstPair: first - count,
        count,
        org: BENCH_ORG,
        concurrency: 50,
        candidates: params.candidates,
      };
    });
    for (const _ of assignments) clients.push(forkScript(CLIENTS));
    const ready = await Promise.all(
      clients.map((c, i) => reply(c, "ready", { type: "start", assignment: assignments[i] as CallAssignment }, 300_000)),
    );
    const connected = ready.reduce((n, r) => n + r.connected, 0);
    const connectError = ready.find((r) => r.firstError)?.firstError;
    await sleep(500);

    const pids = [...serverPids, ...(system === "hub" ? [redis.pid] : [])];
    const idleBefore = pids.map(processCpuMicros);
    await sleep(params.idleSeconds * 1000);
    const idle = pids.map((pid, i) => (processCpuMicros(pid) - (idleBefore[i] ?? 0)) / params.idleSeconds);
    const idleTotal = sum(idle, (c) => c);
    const cpuBefore = pids.map(processCpuMicros);
    const clientBefore = sum(await progress(clients), (p) => p.cpuMicros);
    const share = rate / clients.length;
    const windowStart = now();
    const initiated = await Promise.all(
      clients.map((c) =>
        reply(c, "initiated", { type: "initiate", rate: share, answer, ringTimeoutMs: params.ringTimeoutMs }, (calls / share + 60) * 1000),
      ),
    );
    const initiateLagMaxMs = Math.max(...initiated.map((i) => i.lagMaxMs));
    // Answered: every call set up; ring: every call missed at both parties (due a ring timeout after its initiate).
    const settleTimeout = params.drainMs + (answer ? 0 : params.ringTimeoutMs);
    await waitFor(clients, (p) => p.settled >= connected, settleTimeout);
    const settledAt = now();
    const cpuSettled = sum(pids.map(processCpuMicros), (c) => c);
    if (answer) {
      await Promise.all(clients.map((c) => reply(c, "ending", { type: "end", rate: share }, (calls / share + 60) * 1000)));
      await waitFor(clients, (p) => p.ended >= connected, params.drainMs);
    }
    const windowEnd = now();
    const cpu = pids.map(processCpuMicros).map((after, i) => after - (cpuBefore[i] ?? 0));
    const reports = (await Promise.all(clients.map((c) => reply(c, "report", { type: "report" })))).map((r) => r.report);
    const last = await progress(clients);
    const windowSeconds = (windowEnd - windowStart) / 1000;
    const serverCpu = cpu.slice(0, serverPids.length);
    const redisCpu = system === "hub" ? (cpu.at(-1) ?? 0) : 0;
    const allCpu = sum(cpu, (c) => c);
    const setupCpu = cpuSettled - sum(cpuBefore, (c) => c);
    const merged = (pick: (r: CallClientReport) => HistogramSnapshot) =>
      LatencyHistogram.summarize(LatencyHistogram.merge(reports.map(pick)));
    const base: PhaseBase = {
      ...tally(reports),
      connected,
      connectFailures: ready.reduce((n, r) => n + r.failed, 0),
      ...(connectError ? { connectError } : {}),
      windowSeconds,
      serverCpuMicros: serverCpu,
      redisCpuMicros: redisCpu,
      cpuMicrosPerCall: allCpu / connected,
      idleCpuMicrosPerSecond: idle,
      netCpuMicrosPerCall: (allCpu - idleTotal * windowSeconds) / connected,
      initiateLagMaxMs,
      clientCoresBusy: (sum(reports, (r) => r.cpuMicros) - clientBefore) / 1e6 / windowSeconds,
    };
    if (answer) {
      const established = sum(last, (p) => p.settled);
      return {
        ...base,
        established,
        ended: sum(last, (p) => p.ended),
        callsPerSecond: established / ((settledAt - windowStart) / 1000),
        setupCpuMicrosPerCall: (setupCpu - (idleTotal * (settledAt - windowStart)) / 1000) / connected,
        teardownCpuMicrosPerCall: (allCpu - setupCpu - (idleTotal * (windowEnd - settledAt)) / 1000) / connected,
        initiateAckMs: merged((r) => r.initiateAck),
        incomingMs: merged((r) => r.incoming),
        answerRoundTripMs: merged((r) => r.answerRoundTrip),
        iceRelayMs: merged((r) => r.iceRelay),
        endRoundTripMs: merged((r) => r.endRoundTrip),
      };
    }
    const serverLateness = system === "hub" ? await readServerLateness(servers.map((s) => `http://127.0.0.1:${s.port}`)) : undefined;
    return {
      ...base,
      missed: sum(last, (p) => p.settled),
      latenessMs: merged((r) => r.missedLateness),
      incomingMs: merged((r) => r.incoming),
      ...(serverLateness ? { serverLateness } : {}),
    };
  } finally {
    await Promise.all(clients.map((c) => closeChild(c)));
    await stopServers(servers.map((s) => s.process));
  }
}

/** The client processes' event counts summed. */
function tally(reports: CallClientReport[]): EventTally {
  const events: Record<string, EventCount> = {};
  const unexpected: Record<string, number> = {};
  for (const r of reports) {
    for (const [name, c] of Object.entries(r.events)) {
      const t = events[name] ?? { expected: 0, lost: 0, duplicated: 0 };
      events[name] = t;
      t.expected += c.expected;
      t.lost += c.lost;
      t.duplicated += c.duplicated;
    }
    for (const [name, n] of Object.entries(r.unexpected)) unexpected[name] = (unexpected[name] ?? 0) + n;
  }
  const firstRefusal = reports.find((r) => r.firstRefusal)?.firstRefusal;
  return {
    events,
    lost: sum(Object.values(events), (c) => c.lost),
    duplicated: sum(Object.values(events), (c) => c.duplicated),
    unexpected,
    refused: sum(reports, (r) => r.refused),
    ...(firstRefusal ? { firstRefusal } : {}),
    dropped: sum(reports, (r) => r.dropped),
  };
}

/** Sums `hub_entity_deadline_lateness_seconds{kind="call"}` over the gateways' /metrics. */
async function readServerLateness(httpUrls: string[]): Promise<ServerLateness | undefined> {
  const result: ServerLateness = { count: 0, sumSeconds: 0, buckets: [] };
  const buckets = new Map<string, number>();
  for (const url of httpUrls) {
    const text = await fetch(`${url}/metrics`)
      .then((r) => r.text())
      .catch(() => "");
    for (const line of text.split("\n")) {
      if (!line.startsWith("hub_entity_deadline_lateness_seconds") || !line.includes('kind="call"')) continue;
      const value = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (line.startsWith("hub_entity_deadline_lateness_seconds_bucket")) {
        const le = /le="([^"]+)"/.exec(line)?.[1] ?? "?";
        buckets.set(le, (buckets.get(le) ?? 0) + value);
      } else if (line.startsWith("hub_entity_deadline_lateness_seconds_sum")) result.sumSeconds += value;
      else if (line.startsWith("hub_entity_deadline_lateness_seconds_count")) result.count += value;
    }
  }
  if (buckets.size === 0) return undefined;
  result.buckets = [...buckets].map(([le, count]) => ({ le, count }));
  return result;
}

async function progress(clients: ChildProcess[]): Promise<CallProgress[]> {
  return Promise.all(clients.map((c) => reply(c, "progress", { type: "progress" })));
}

/** Polls the client processes until `done` holds for their summed progress or `timeoutMs` passes. */
async function waitFor(clients: ChildProcess[], done: (p: { settled: number; ended: number }) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await progress(clients);
    if (done({ settled: sum(p, (x) => x.settled), ended: sum(p, (x) => x.ended) }) || Date.now() >= deadline) return;
    await sleep(20);
  }
}

/** Sends `message` and waits for the child's reply of type `type`. */
function reply<T extends FromCallClients["type"]>(
  child: ChildProcess,
  type: T,
  message: ToCallClients,
  timeoutMs = 60_000,
): Promise<Extract<FromCallClients, { type: T }>> {
  return askChild<FromCallClients>(child, message, (r) => r.type === type, timeoutMs) as Promise<Extract<FromCallClients, { type: T }>>;
}

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  return items.reduce((n, item) => n + pick(item), 0);
}

async function stopServers(servers: HubProcess[]): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      const timer = setTimeout(() => void s.kill(), 10_000);
      await s.stop();
      clearTimeout(timer);
    }),
  );
}
