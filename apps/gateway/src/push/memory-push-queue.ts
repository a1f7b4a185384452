import type { PendingPush } from "./push-payload.js";
import type { ClaimedPush, PushQueue } from "./push-queue.js";

/** The embedded engine's pending pushes: one node, so kept in process (lost with it). */
export function memoryPushQueue(now: () => number = Date.now): PushQueue {
  const entries = new Map<string, { pending: PendingPush; dueAt: number }>();
  // Insertion order is expiry order (one TTL for all), so expired marks are at the front.
  const seen = new Map<string, number>();

  return {
    async offer(entryId, pending, ttlMs) {
      for (const [id, expiresAt] of seen) {
        if (expiresAt > now()) break;
        seen.delete(id);
      }
      if (seen.has(entryId)) return "duplicate";
      seen.set(entryId, now() + ttlMs);
      entries.set(entryId, { pending, dueAt: now() });
      return "queued";
    },
    async claim(leaseMs, limit) {
      const claimed: ClaimedPush[] = [];
      for (const [entryId, entry] of entries) {
        if (claimed.length >= limit) break;
        if (entry.dueAt > now()) continue;
        entry.dueAt = now() + leaseMs;
        claimed.push({ entryId, pending: entry.pending });
      }
      return claimed;
    },
    async remove({ entryId }) {
      entries.delete(entryId);
    },
    async retry({ entryId, pending }, delayMs) {
      if (entries.has(entryId)) entries.set(entryId, { pending, dueAt: now() + delayMs });
    },
  };
}
