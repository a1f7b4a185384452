import type { Queue, QueueCommand } from "@hub/events";
import type { CommandQueue } from "@hub/store";
import type { Emission } from "./transitions.js";

/** A queue as stored: the queue itself (null before `open`), its version and command cursor. */
export interface StoredQueue {
  queue: Queue | null;
  /** -1 while there is no queue. */
  version: number;
  /** Stream id of the last applied command; `0-0` before the first. */
  cursor: string;
}

/** Proof of ownership of one queue for a while; every write presents it. */
export interface Lease {
  readonly name: string;
  readonly token: string;
}

/** A command read from a queue's stream; `command` is null when the entry is unreadable. */
export interface PendingCommand {
  cursor: string;
  command: QueueCommand | null;
  /** When the store accepted it, epoch ms (Redis: the stream id's time): a check-in accepted after the deadline is too late. */
  acceptedAt: number;
}

export interface QueueChange {
  name: string;
  /** The version the change was computed from. */
  expectedVersion: number;
  /** The next queue; null when the command was refused and only the cursor moves. */
  queue: Queue | null;
  cursor: string;
  emissions: readonly Emission[];
}

export type CommitResult = "ok" | "lease_lost" | "conflict";

/**
 * Where inhouse queues live: Redis for a cluster, memory for the embedded engine. Every write is
 * fenced by the lease; the deadline set and the outbox change in the same step as the queue.
 */
export interface QueueStore {
  readonly commands: CommandQueue;
  /** Names of queues that are not retired. */
  activeQueues(): Promise<string[]>;
  /** Names of queues whose check-in deadline is at or before `now`. */
  dueDeadlines(now: number, limit: number): Promise<string[]>;
  /** Of these queues, the ones whose lease nobody holds (one bulk read, however many names). */
  unleased(names: readonly string[]): Promise<string[]>;
  /** Takes the queue's lease if nobody holds it; null when somebody does. */
  acquire(name: string, ttlMs: number): Promise<Lease | null>;
  /** Extends held leases in bulk; per lease, in order, whether the caller still holds it. */
  extend(leases: readonly Lease[], ttlMs: number): Promise<boolean[]>;
  release(lease: Lease): Promise<void>;
  /** Per queue, in order: whether it has commands after its cursor or unpublished events (bulk). */
  pendingWork(names: readonly string[]): Promise<boolean[]>;
  load(name: string): Promise<StoredQueue>;
  /** Commands after the cursor, oldest first. */
  pending(name: string, cursor: string, count: number): Promise<PendingCommand[]>;
  commit(lease: Lease, change: QueueChange): Promise<CommitResult>;
  /** Events committed and not yet published, oldest first; null when the lease was lost. */
  outbox(lease: Lease): Promise<Emission[] | null>;
  /** Drops the first `count` outbox events; false when the lease was lost. */
  ackOutbox(lease: Lease, count: number): Promise<boolean>;
  /**
   * Takes a closed (or never opened) queue with no pending command out of the active set; a never
   * opened one keeps nothing. False otherwise.
   */
  retire(lease: Lease, cursor: string): Promise<boolean>;
  /** Called with a queue's name when commands arrive for it. */
  onWake(listener: (name: string) => void): void;
  close(): Promise<void>;
}
