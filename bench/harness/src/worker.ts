import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type HubProcess, serviceToken, startWorker } from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import { Redis } from "ioredis";
import { LatencyHistogram, type LatencySummary } from "./latency-histogram.js";
import { askChild, closeChild, forkScript } from "./load/child-ipc.js";
import type { FromObserver, ObserverProgress, ObserverReport, ToObserver } from "./load/inhouse-observer.js";
import { now } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";
import type { SystemUnderTest } from "./systems.js";

const OBSERVER = fileURLToPath(new URL("./load/inhouse-observer.ts", import.meta.url));

export interface WorkerParams {
  /** Inhouse queues, each opened and kept active for the whole run. */
  queues: number;
  /** Orgs the queues are spread over; one observer client per org topic. */
  orgs: number;
  /** queue-worker processes (apps/queue-worker). */
  workers: number;
  /** The workers' CHECK_IN_TIMEOUT_MS: short, so deadlines fire within the run. */
  checkInTimeoutMs: number;
  /** Queues whose setup commands are in flight at once (setup phase, as fast as it goes). */
  concurrency: number;
  /** Measured with every queue active and nothing sent: what holding the queues costs. */
  idleSeconds: number;
  /** Queues per second that enter check-in in the deadline phase (paced, so deadlines are spread). */
  deadlineQueuesPerSecond: number;
  /** Longest wait for a phase's effects before the rest count as missing. */
  drainMs: number;
}

export const WORKER_QUICK: WorkerParams = {
  queues: 1_000,
  orgs: 10,
  workers: 3,
  checkInTimeoutMs: 2_000,
  concurrency: 64,
  idleSeconds: 2,
  deadlineQueuesPerSecond: 500,
  drainMs: 15_000,
};
export const WORKER_FULL: WorkerParams = { ...WORKER_QUICK, queues: 10_000, checkInTimeoutMs: 5_000, idleSeconds: 5, drainMs: 60_000 };

export interface PhaseFigures {
  commands: number;
  /** Commands the SDK did not get accepted (rejected enqueue). */
  sendFailures: number;
  /** Commands durably accepted per second (the SDK's enqueue resolved). */
  acceptedPerSecond: number;
  /** `queue_updated` events observed: one per applied command. */
  applied: number;
  /** Applied commands per second: first send to the last `queue_updated` observed. */
  appliedPerSecond: number;
  seconds: number;
  /** The worker processes' CPU (all of them) per applied command. */
  workerCpuMicrosPerCommand: number;
  redisCpuMicrosPerCommand: number;
}

export interface WorkerResult {
  system: "hub";
  params: WorkerParams;
  /** open + join per queue, as fast as `concurrency` allows. */
  setup: PhaseFigures;
  /** Each worker's CPU per second, and redis-server's, with every queue active and nothing sent. */
  idleWorkerCpuMicrosPerSecond: number[];
  idleRedisCpuMicrosPerSecond: number;
  /** join (queue full: check-in with a deadline) + check_in of one of the two players, paced. */
  deadlinePhase: PhaseFigures;
  /** Deadlines set (observed on `queue_updated`) and `check_in_expired` observed. */
  deadlinesSet: number;
  expiredObserved: number;
  /** Queues whose `check_in_expired` never arrived within `drainMs` of the last deadline. */
  missingExpirations: number;
  /** `check_in_expired` received more than once for one deadline. */
  duplicateExpirations: number;
  /** Expirations observed before their deadline (none expected). */
  early: number;
  /** `check_in_expired` receipt by a subscribed client minus the queue's deadline. */
  latenessMs: LatencySummary;
  /** Worker log lines at warn or above, and the messages among them. */
  workerWarnings: number;
  warningMessages: string[];
  leasesLost: number;
  refusedCommands: number;
  /** Workers that exited during the run. */
  workerExits: number;
  /** Each worker's CPU over the deadline phase, cores busy. */
  deadlinePhaseWorkerCoresBusy: number[];
}

/**
 * Inhouse queues over several queue-worker processes, fed through the emitter SDK
 * (`createHubEmitter(...).inhouse`), observed by real clients subscribed to `inhouse:{org}` on a
 * gateway: commands/s, the cost of holding the queues, and how late check-in deadlines fire.
 */
export async function runWorker(
  system: SystemUnderTest,
  params: WorkerParams,
  options: { redisUrl: string; redisPid: number },
): Promise<WorkerResult> {
  const workers: HubProcess[] = [];
  const redis = new Redis(options.redisUrl);
  const observer = forkScript(OBSERVER);
  try {
    workers.push(
      ...(await Promise.all(
        Array.from({ length: params.workers }, (_, i) =>
          startWorker({
            REDIS_URL: options.redisUrl,
            CHECK_IN_TIMEOUT_MS: String(params.checkInTimeoutMs),
            NODE_ENV: "production",
            // startWorker waits for the info-level "queue-worker started" line; the steady state logs nothing at info.
            LOG_LEVEL: "info",
            HUB_NODE_ID: `bench-worker-${i + 1}`,
            // BENCH_WORKER_NODE_OPTIONS="--require .../profiling/cpu-profile.cjs" profiles the workers (bench/README.md).
            ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
          }),
        ),
      )),
    );
    const workerPids = workers.map((w) => w.child.pid as number);
    const orgs = Array.from({ length: params.orgs }, (_, i) => `bench${i + 1}`);
    const token = await serviceToken("bench-observer", { expiresIn: 24 * 3600 });
    const started = await askChild<FromObserver>(
      observer,
      { type: "start", assignment: { url: system.httpUrls[0] as string, token, orgs } } satisfies ToObserver,
      (m) => m.type === "ready" || m.type === "failed",
    );
    if (started.type === "failed") throw new Error(`worker: observer could not subscribe: ${started.error}`);

    const hub = createHubEmitter({ redis });
    const queues = Array.from({ length: params.queues }, (_, i) => ({ org_id: orgs[i % orgs.length] as string, queue_id: `q${i}` }));
    const progress = async () =>
      (
        (await askChild<FromObserver>(observer, { type: "progress" } satisfies ToObserver, (m) => m.type === "progress")) as {
          progress: ObserverProgress;
        }
      ).progress;

    // Setup: open (capacity 2) and a first player, every queue, as fast as the SDK goes.
    const allUpdates = (p: ObserverProgress) => ({ count: p.updates, lastAt: p.lastUpdateAt });
    const checkInUpdates = (p: ObserverProgress) => ({ count: p.checkInUpdates, lastAt: p.lastCheckInUpdateAt });
    const setup = await phase(workerPids, options.redisPid, progress, allUpdates, params, async () => {
      let next = 0;
      let failed = 0;
      const lane = async () => {
        while (next < queues.length) {
          const q = queues[next++] as (typeof queues)[number];
          try {
            await hub.inhouse.send([
              { ...q, command: "open", capacity: 2 },
              { ...q, command: "join", user_id: "1" },
            ]);
          } catch {
            failed += 2;
          }
        }
      };
      await Promise.all(Array.from({ length: params.concurrency }, lane));
      return { commands: queues.length * 2, failed };
    });

    // Idle: every queue active (held, leased, swept), nothing sent.
    await sleep(500);
    const idleBefore = [...workerPids, options.redisPid].map(processCpuMicros);
    await sleep(params.idleSeconds * 1000);
    const idle = [...workerPids, options.redisPid].map((pid, i) => (processCpuMicros(pid) - (idleBefore[i] ?? 0)) / params.idleSeconds);

    // Deadlines: the second player fills each queue (check-in, deadline = now + timeout); the first checks in.
    const deadlineCpuBefore = workerPids.map(processCpuMicros);
    const deadlineStart = now();
    const deadlinePhase = await phase(workerPids, options.redisPid, progress, checkInUpdates, params, async () => {
      let failed = 0;
      const pending: Array<Promise<unknown>> = [];
      const start = now();
      for (let i = 0; i < queues.length; i++) {
        const wait = start + (i * 1000) / params.deadlineQueuesPerSecond - now();
        if (wait > 1) await sleep(wait);
        const q = queues[i] as (typeof queues)[number];
        pending.push(
          hub.inhouse
            .send([
              { ...q, command: "join", user_id: "2" },
              { ...q, command: "check_in", user_id: "1" },
            ])
            .catch(() => {
              failed += 2;
            }),
        );
      }
      await Promise.all(pending);
      return { commands: queues.length * 2, failed };
    });
    // Every queue's deadline passes; wait for the expirations (each also emits one more queue_updated).
    const lastDeadline = now() + params.checkInTimeoutMs;
    const deadline = lastDeadline + params.drainMs;
    let seen = await progress();
    while (seen.expired < queues.length && now() < deadline) {
      await sleep(200);
      seen = await progress();
    }
    await sleep(500);
    const deadlineSeconds = (now() - deadlineStart) / 1000;
    const deadlineCpu = workerPids.map((pid, i) => (processCpuMicros(pid) - (deadlineCpuBefore[i] ?? 0)) / 1e6 / deadlineSeconds);

    const report = (
      (await askChild<FromObserver>(observer, { type: "report" } satisfies ToObserver, (m) => m.type === "report")) as {
        report: ObserverReport;
      }
    ).report;
    const deadlines = new Map(report.deadlines);
    const lateness = new LatencyHistogram();
    const expiredQueues = new Set<string>();
    let duplicates = 0;
    let early = 0;
    for (const [key, at] of report.expirations) {
      if (expiredQueues.has(key)) {
        duplicates++;
        continue;
      }
      expiredQueues.add(key);
      const due = deadlines.get(key);
      if (due === undefined) continue;
      if (at < due) early++;
      lateness.record(Math.max(0, at - due));
    }
    const logs = workers.flatMap((w) => w.logs);
    const warnings = logs.filter((l) => l.level === "warn" || l.level === "error" || l.level === "fatal");
    return {
      system: "hub",
      params,
      setup,
      idleWorkerCpuMicrosPerSecond: idle.slice(0, workerPids.length),
      idleRedisCpuMicrosPerSecond: idle[workerPids.length] ?? 0,
      deadlinePhase,
      deadlinesSet: deadlines.size,
      expiredObserved: expiredQueues.size,
      missingExpirations: queues.length - expiredQueues.size,
      duplicateExpirations: duplicates,
      early,
      latenessMs: LatencyHistogram.summarize(lateness.snapshot()),
      workerWarnings: warnings.length,
      warningMessages: [...new Set(warnings.map((l) => String(l.msg)))].slice(0, 5),
      leasesLost: logs.filter((l) => l.msg === "queue released" && l.reason === "lease lost").length,
      refusedCommands: logs.filter((l) => l.msg === "queue command refused").length,
      workerExits: workers.filter((w) => w.child.exitCode !== null || w.child.signalCode !== null).length,
      deadlinePhaseWorkerCoresBusy: deadlineCpu,
    };
  } finally {
    await closeChild(observer as ChildProcess, { type: "close" } satisfies ToObserver).catch(() => undefined);
    await Promise.all(
      workers.map(async (w) => {
        const timer = setTimeout(() => void w.kill(), 10_000);
        await w.stop();
        clearTimeout(timer);
      }),
    );
    redis.disconnect();
  }
}

/**
 * Sends a phase's commands and waits until their `queue_updated` events were all observed (one per
 * applied command), measuring the workers' and redis-server's CPU over it.
 */
async function phase(
  workerPids: number[],
  redisPid: number,
  progress: () => Promise<ObserverProgress>,
  /** The observed events that count this phase's applied commands. */
  count: (p: ObserverProgress) => { count: number; lastAt: number },
  params: WorkerParams,
  send: () => Promise<{ commands: number; failed: number }>,
): Promise<PhaseFigures> {
  const pids = [...workerPids, redisPid];
  const before = count(await progress()).count;
  const cpuBefore = pids.map(processCpuMicros);
  const start = now();
  const { commands, failed } = await send();
  const sent = now();
  const target = before + commands - failed;
  const deadline = sent + params.drainMs;
  let seen = count(await progress());
  while (seen.count < target && now() < deadline) {
    await sleep(50);
    seen = count(await progress());
  }
  const cpu = pids.map(processCpuMicros).map((after, i) => after - (cpuBefore[i] ?? 0));
  const applied = seen.count - before;
  const end = Math.max(seen.lastAt, sent);
  const workerMicros = cpu.slice(0, workerPids.length).reduce((n, c) => n + c, 0);
  return {
    commands,
    sendFailures: failed,
    acceptedPerSecond: (commands - failed) / ((sent - start) / 1000),
    applied,
    appliedPerSecond: applied / ((end - start) / 1000),
    seconds: (end - start) / 1000,
    workerCpuMicrosPerCommand: applied ? workerMicros / applied : Number.NaN,
    redisCpuMicrosPerCommand: applied ? (cpu[workerPids.length] ?? 0) / applied : Number.NaN,
  };
}
