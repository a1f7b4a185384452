import type { PendingPush } from "./push-payload.js";

/** A pending push a dispatcher holds: nobody else sends it until its lease ends or it is settled. */
export interface ClaimedPush {
  /** `pushEntryId` of its payload. */
  entryId: string;
  pending: PendingPush;
}

/**
 * Pushes waiting to be sent, cluster-wide: queued once per (event id, user), claimed under a lease
 * by whichever dispatcher asks first, then removed or put back with a delay. In Redis for a cluster
 * (`redisPushQueue`), in process for one node (`memoryPushQueue`).
 */
export interface PushQueue {
  /** Queues a push, due now, unless the same entry was offered within `ttlMs`. */
  offer(entryId: string, pending: PendingPush, ttlMs: number): Promise<"queued" | "duplicate">;
  /** Takes up to `limit` due pushes, each for `leaseMs` (then it is due again, if not settled). */
  claim(leaseMs: number, limit: number): Promise<ClaimedPush[]>;
  /** Removes a claimed push: sent, skipped or given up. */
  remove(push: ClaimedPush): Promise<void>;
  /** Puts a claimed push back, due in `delayMs`, with its failures counted (`pending.attempts`). */
  retry(push: ClaimedPush, delayMs: number): Promise<void>;
}
