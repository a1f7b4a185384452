import { FAILURE_REASONS, type QueueWorkerMetrics, type ReconcilerRunOutcome, SNAPSHOT_REFUSALS, type SnapshotRefusal } from "@hub/inhouse";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

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
  /** Hand to startReconciler (`onRun`). */
  reconcilerRun(outcome: ReconcilerRunOutcome): void;
  /** Hand to startReconciler (`onRefused`). */
  reconcilerRefused(reason: SnapshotRefusal): void;
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
    help: "Queue commands this worker handled, by kind (the command, expire for a check-in deadline, other, unreadable) and outcome (applied, refused, failed: the state machine threw and the command was skipped).",
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
  const failures = new Counter({
    name: "hub_queue_failures_total",
    help:
      "Failures in queue handling, by reason: command_threw (the state machine threw; the command was skipped like a refusal), " +
      "expire_threw, run_failed (store or pipeline error; the run is retried), take_up_failed (could not take up a queue), " +
      "sweep_failed, renew_failed.",
    labelNames: ["reason"],
    registers,
  });
  for (const reason of FAILURE_REASONS) failures.inc({ reason }, 0);
  const refusedQueues = new Counter({
    name: "hub_reconciler_queues_refused_total",
    help: "Queues of the backend's answer the reconciler refused as inconsistent (left as they are), by reason: over_capacity, duplicate_players.",
    labelNames: ["reason"],
    registers,
  });
  for (const reason of SNAPSHOT_REFUSALS) refusedQueues.inc({ reason }, 0);
  return {
    registry,
    queue: {
      commandHandled: (kind, outcome) => commands.inc({ kind, outcome }),
      deadlineFired: (latenessMs) => lateness.observe(latenessMs / 1000),
      failed: (reason) => failures.inc({ reason }),
    },
    reconcilerRun: (outcome) => reconciles.inc({ outcome }),
    reconcilerRefused: (reason) => refusedQueues.inc({ reason }),
  };
}
