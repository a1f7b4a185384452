export type { QueueMachine, QueueMachineOptions } from "./machine.js";
export { queueMachine } from "./machine.js";
export { memoryQueueStore } from "./memory-queue-store.js";
export type { CommitResult, Lease, PendingCommand, QueueChange, QueueStore, StoredQueue } from "./queue-store.js";
export type {
  CommandKind,
  FailureReason,
  QueueWorker,
  QueueWorkerMetrics,
  QueueWorkerOptions,
  QueueWorkerStats,
  Transitions,
} from "./queue-worker.js";
export { FAILURE_REASONS, startQueueWorker } from "./queue-worker.js";
export type {
  ActiveQueues,
  ReadQueue,
  ReconcilePlan,
  Reconciler,
  ReconcilerOptions,
  ReconcilerRunOutcome,
  SnapshotRefusal,
} from "./reconciler.js";
export { ActiveQueuesSchema, planReconciliation, SNAPSHOT_REFUSALS, startReconciler } from "./reconciler.js";
export type { RedisQueueStoreOptions } from "./redis-queue-store.js";
export { redisQueueStore } from "./redis-queue-store.js";
export type { Decision, Emission, ReconcileCommand, TransitionSettings } from "./transitions.js";
export { decide, expire } from "./transitions.js";
