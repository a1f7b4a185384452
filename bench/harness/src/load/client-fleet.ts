import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { stopChild, track } from "@hub/devkit";
import { LatencyHistogram, type LatencySummary } from "../latency-histogram.js";
import type { FleetAssignment, FromWorker, ToWorker, WorkerReport } from "./fleet-messages.js";
import type { WireProtocol } from "./wire-connection.js";

const WORKER = fileURLToPath(new URL("./client-worker.ts", import.meta.url));
const ANSWER_TIMEOUT_MS = 120_000;

/** What `ClientFleet.totals` adds up. */
export interface FleetTotals {
  received: number;
  outOfOrder: number;
  unreadable: number;
  /** Connections that dropped during the run. */
  dropped: number;
  /** Deliveries per second from the window's start to the last delivery. */
  perSecond: number;
  latencyMs: LatencySummary;
}

export interface FleetOptions {
  urls: string[];
  protocol: WireProtocol;
  /** Connections over all processes. */
  connections: number;
  /** Client processes; they spread over the cores. @default 2 */
  processes?: number;
  /** Handshakes in flight per process. @default 50 */
  concurrency?: number;
  /** Source addresses (127.0.0.x) to spread the connections over. */
  localAddresses?: string[];
  /** How long every process may take to open its share before `start` gives up. @default 120000, or `deadlineMs` + 60000 */
  readyTimeoutMs?: number;
  /** After this long no process starts another connection; those not started are counted as `skipped`. */
  deadlineMs?: number;
}

/** Lightweight wire-protocol clients spread over child processes. */
export class ClientFleet {
  private constructor(private readonly workers: ChildProcess[]) {}

  /** Forks the client processes and resolves once every connection is subscribed (or failed). */
  static async start(
    options: FleetOptions,
  ): Promise<{ fleet: ClientFleet; connected: number; failed: number; skipped: number; firstError?: string; connectMs: number }> {
    const processes = options.processes ?? 2;
    const deadline = options.deadlineMs === undefined ? undefined : Date.now() + options.deadlineMs;
    // Handshakes in flight at the deadline may take up to their own timeout (30 s) to finish.
    const readyTimeoutMs = options.readyTimeoutMs ?? (options.deadlineMs === undefined ? undefined : options.deadlineMs + 60_000);
    const workers = Array.from({ length: processes }, () => {
      const child = fork(WORKER, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      track(child);
      return child;
    });
    const fleet = new ClientFleet(workers);
    try {
      let firstIndex = 0;
      const answers = workers.map((worker, w) => {
        const count = Math.floor(options.connections / processes) + (w < options.connections % processes ? 1 : 0);
        const assignment: FleetAssignment = {
          urls: options.urls,
          count,
          firstIndex,
          protocol: options.protocol,
          concurrency: options.concurrency ?? 50,
          ...(options.localAddresses ? { localAddresses: options.localAddresses } : {}),
          ...(deadline === undefined ? {} : { deadline }),
        };
        firstIndex += count;
        return ask(worker, { type: "start", assignment }, "ready", readyTimeoutMs);
      });
      const ready = await Promise.all(answers);
      const firstError = ready.find((r) => r.firstError)?.firstError;
      return {
        fleet,
        connected: ready.reduce((n, r) => n + r.connected, 0),
        failed: ready.reduce((n, r) => n + r.failed, 0),
        skipped: ready.reduce((n, r) => n + (r.skipped ?? 0), 0),
        // The processes connect at the same time; the slowest one's time is the fleet's.
        connectMs: Math.max(...ready.map((r) => r.connectMs)),
        ...(firstError ? { firstError } : {}),
      };
    } catch (error) {
      await fleet.close();
      throw error;
    }
  }

  /** The client processes' ids (to read their memory). */
  get pids(): number[] {
    return this.workers.map((w) => w.pid as number);
  }

  /** Deliveries so far, and the client processes' CPU time (µs, summed). */
  async progress(): Promise<{ received: number; warmup: number; cpuMicros: number }> {
    const answers = await Promise.all(this.workers.map((w) => ask(w, { type: "progress" }, "progress")));
    const sum = (pick: (a: (typeof answers)[number]) => number) => answers.reduce((n, a) => n + pick(a), 0);
    return { received: sum((a) => a.received), warmup: sum((a) => a.warmup), cpuMicros: sum((a) => a.cpuMicros) };
  }

  async reports(): Promise<WorkerReport[]> {
    const answers = await Promise.all(this.workers.map((w) => ask(w, { type: "report" }, "report")));
    return answers.map((a) => a.report);
  }

  /**
   * Every process's report added up: counters summed, latency histograms merged, and the receive
   * rate from `windowStart` to the last delivery.
   */
  async totals(windowStart: number): Promise<FleetTotals> {
    const reports = await this.reports();
    const sum = (pick: (r: WorkerReport) => number) => reports.reduce((n, r) => n + pick(r), 0);
    const received = sum((r) => r.received);
    const lastAt = Math.max(...reports.map((r) => r.lastAt));
    return {
      received,
      outOfOrder: sum((r) => r.outOfOrder),
      unreadable: sum((r) => r.unreadable),
      dropped: sum((r) => r.dropped),
      perSecond: received / ((Math.max(lastAt, windowStart + 1) - windowStart) / 1000),
      latencyMs: LatencyHistogram.summarize(LatencyHistogram.merge(reports.map((r) => r.latency))),
    };
  }

  /** Zeroes every process's counters and latency histogram; events below `minSeq` are ignored from now on. */
  async reset(minSeq: number): Promise<void> {
    await Promise.all(this.workers.map((w) => ask(w, { type: "reset", minSeq }, "reset-done")));
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker.connected) worker.send({ type: "close" } satisfies ToWorker);
        const timer = setTimeout(() => worker.kill("SIGKILL"), 10_000);
        await stopChild(worker, "SIGTERM");
        clearTimeout(timer);
      }),
    );
  }
}

function ask<T extends FromWorker["type"]>(
  worker: ChildProcess,
  message: ToWorker,
  answer: T,
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
    };
    const onMessage = (reply: FromWorker) => {
      if (reply.type !== answer) return;
      cleanup();
      resolve(reply as Extract<FromWorker, { type: T }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`client process exited (${code}) before answering ${message.type}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`client process did not answer ${message.type} within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.on("message", onMessage);
    worker.once("exit", onExit);
    worker.send(message);
  });
}
