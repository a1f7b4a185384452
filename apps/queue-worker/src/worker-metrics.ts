import type { QueueWorkerMetrics } from "@hub/inhouse";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ReconcilerRunOutcome } from "./reconciler.js";

/** Where the values read at scrape time come from. */
export interface WorkerMetricSources {
  /** Queues whose lease this worker holds now. */
  leasesHeld(): number;
  /** Leases this worker lost since it started (QueueWorkerStats.leasesLost). */
  leasesLost(): number;
  /** Whether each Redis connection is ready, by role (`main`, `wake`). */
  redisConnections(): Record<string, boolean>;
}

/** The queue-worker's Prometheus metrics (docs/protocol.md "Metrics"); labels are bounded enums. */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** Hand to startQueueWorker. */
  readonly queue: Required<QueueWorkerMetrics>;
  /** Hand to startReconciler. */
  reconcilerRun(outcome: ReconcilerRunOutcome): void;
}

export function createWorkerMetrics(sources: WorkerMetricSources): WorkerMetrics {
  const registry = new Registry();
  // Includes hub_nodejs_eventloop_lag_seconds (and its percentiles), CPU, memory, GC and handles.
  collectDefaultMetrics({ register: registry, prefix: "hub_" });
  const registers = [registry];
  new Gauge({
    name: "hub_queue_leases_held",
    help: "Inhouse queues whose lease this worker holds.",
    registers,
    collect() {
      this.set(sources.leasesHeld());
    },
  });
  new Counter({
    name: "hub_queue_leases_lost_total",
    help: "Leases this worker lost (it stopped renewing in time, or another worker took the queue over).",
    registers,
    collect() {
      this.reset();
      this.inc(sources.leasesLost());
    },
  });
  new Gauge({
    name: "hub_redis_connected",
    help: "1 while this worker's Redis connection of that role (main, wake) is ready, else 0.",
    labelNames: ["role"],
    registers,
    collect() {
      this.reset();
      for (const [role, ready] of Object.entries(sources.redisConnections())) this.set({ role }, ready ? 1 : 0);
    },
  });
  const commands = new Counter({
    name: "hub_queue_commands_total",
    help: "Queue commands this worker handled, by kind (the command, expire for a check-in deadline, other, unreadable) and outcome (applied, refused).",
    labelNames: ["kind", "outcome"],
    registers,
  });
  const lateness = new Histogram({
    name: "hub_queue_deadline_lateness_seconds",
    help: "How long after a check-in deadline its expiry was applied (sweep interval, wake-up timer, failover).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const reconciles = new Counter({
    name: "hub_reconciler_runs_total",
    help: "Reconciliations with the backend on boot, by outcome (succeeded; failed: retried with backoff).",
    labelNames: ["outcome"],
    registers,
  });
  for (const outcome of ["succeeded", "failed"] as const) reconciles.inc({ outcome }, 0);
  return {
    registry,
    queue: {
      commandHandled: (kind, outcome) => commands.inc({ kind, outcome }),
      deadlineFired: (latenessMs) => lateness.observe(latenessMs / 1000),
    },
    reconcilerRun: (outcome) => reconciles.inc({ outcome }),
  };
}
