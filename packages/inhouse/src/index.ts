export { memoryQueueStore } from "./memory-queue-store.js";
export type { CommitResult, Lease, PendingCommand, QueueChange, QueueStore, StoredQueue } from "./queue-store.js";
export type { CommandKind, QueueWorker, QueueWorkerMetrics, QueueWorkerOptions, QueueWorkerStats } from "./queue-worker.js";
export { startQueueWorker } from "./queue-worker.js";
export type { RedisQueueStoreOptions } from "./redis-queue-store.js";
export { redisQueueStore } from "./redis-queue-store.js";
export type { Decision, Emission, TransitionSettings } from "./transitions.js";
export { decide, expire } from "./transitions.js";
