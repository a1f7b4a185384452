import { type HubKeys, luaCommands, PUSH_BUCKETS, pushBucket, type RedisClient } from "@hub/store";
import { type PendingPush, parsePending } from "./push-payload.js";
import type { ClaimedPush, PushQueue } from "./push-queue.js";

interface PushCommands {
  hubOfferPush(seen: string, due: string, entries: string, entryId: string, pending: string, ttlMs: number): Promise<0 | 1>;
  hubClaimPushes(due: string, entries: string, leaseMs: number, limit: number): Promise<string[]>;
  hubSettlePush(due: string, entries: string, entryId: string, delayMs: number, pending: string): Promise<0 | 1>;
}

const withPushCommands = luaCommands<PushCommands>(new URL("./lua/", import.meta.url), {
  hubOfferPush: "offerPush-3",
  hubClaimPushes: "claimPushes-2",
  hubSettlePush: "settlePush-2",
});

/**
 * Pending pushes in Redis, spread over `PUSH_BUCKETS` buckets by user (`pushBucket`); each script
 * touches one bucket's slot (lua/*.lua). Due times are on Redis's clock, so dispatchers on several
 * hosts agree on them.
 */
export function redisPushQueue(redis: RedisClient, keys: HubKeys): PushQueue {
  const client = withPushCommands(redis);
  const bucketOf = (pending: PendingPush) => keys.pushBucket(pushBucket(pending.payload.org_id, pending.payload.user_id));
  // Claims start at a rotating bucket, so a busy one does not starve the others.
  let next = 0;

  return {
    async offer(entryId, pending, ttlMs) {
      const bucket = bucketOf(pending);
      const queued = await client.hubOfferPush(bucket.seen(entryId), bucket.due, bucket.entries, entryId, JSON.stringify(pending), ttlMs);
      return queued === 1 ? "queued" : "duplicate";
    },
    async claim(leaseMs, limit) {
      const claimed: ClaimedPush[] = [];
      const start = next;
      next = (next + 1) % PUSH_BUCKETS;
      for (let i = 0; i < PUSH_BUCKETS && claimed.length < limit; i++) {
        const bucket = keys.pushBucket((start + i) % PUSH_BUCKETS);
        const flat = await client.hubClaimPushes(bucket.due, bucket.entries, leaseMs, limit - claimed.length);
        for (let j = 0; j + 1 < flat.length; j += 2) {
          const entryId = flat[j] as string;
          const pending = parsePending(flat[j + 1] as string);
          if (pending) claimed.push({ entryId, pending });
          // Unreadable: nobody can send it.
          else await client.hubSettlePush(bucket.due, bucket.entries, entryId, -1, "");
        }
      }
      return claimed;
    },
    async remove({ entryId, pending }) {
      const bucket = bucketOf(pending);
      await client.hubSettlePush(bucket.due, bucket.entries, entryId, -1, "");
    },
    async retry({ entryId, pending }, delayMs) {
      const bucket = bucketOf(pending);
      await client.hubSettlePush(bucket.due, bucket.entries, entryId, Math.max(0, delayMs), JSON.stringify(pending));
    },
  };
}
