/** A user's allowance for client publications: rate per second and burst (CLIENT_PUBLISH_RATE, CLIENT_PUBLISH_BURST). */
export interface PublishRateSettings {
  ratePerSecond: number;
  burst: number;
}

/** The contract's default: 20 per second, burst 40. */
export const DEFAULT_PUBLISH_RATE: PublishRateSettings = { ratePerSecond: 20, burst: 40 };

/** What a publication costs: a durable one 1, an ephemeral one a tenth (contract: "ephemeral events count a tenth"). */
export const PUBLICATION_COST = { durable: 1, ephemeral: 0.1 } as const;

/** Allowed, or refused with when the same publication would be allowed, ms from now. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Client publications per user across every gateway: a generic cell rate algorithm (GCRA) over one
 * value per user, the time at which the user's allowance is theoretically back to full ("TAT").
 * Redis-backed for a cluster (one script call per publication), in process for one node.
 */
export interface PublishRate {
  take(orgId: string, userId: string, cost: number): Promise<RateDecision>;
}

/**
 * One GCRA step, in milliseconds: the new TAT when allowed. Each unit of cost moves the TAT by the
 * emission interval (1000 / rate ms); a publication is allowed while the TAT stays within `burst`
 * intervals of now. The same arithmetic as lua/publishRate-1.lua.
 */
export function gcra(tat: number | undefined, now: number, cost: number, { ratePerSecond, burst }: PublishRateSettings) {
  const interval = 1000 / ratePerSecond;
  const next = Math.max(tat ?? now, now) + cost * interval;
  const limit = now + burst * interval;
  return next <= limit ? { allowed: true as const, tat: next } : { allowed: false as const, retryAfterMs: Math.ceil(next - limit) };
}

/** Users whose allowance is full again are forgotten when the map grows past this, at most once a second. */
const SWEEP_AT = 10_000;
const SWEEP_EVERY_MS = 1_000;

/** In process, for a hub of one node. */
export function memoryPublishRate(settings: PublishRateSettings, now: () => number = Date.now): PublishRate {
  const tats = new Map<string, number>();
  let sweptAt = Number.NEGATIVE_INFINITY;
  return {
    async take(orgId, userId, cost) {
      const at = now();
      // A sweep is one pass over the map: never more often than once a second, however many users are active.
      if (tats.size >= SWEEP_AT && at - sweptAt >= SWEEP_EVERY_MS) {
        sweptAt = at;
        for (const [user, tat] of tats) if (tat <= at) tats.delete(user);
      }
      const key = `${orgId}\n${userId}`;
      const step = gcra(tats.get(key), at, cost, settings);
      if (!step.allowed) return step;
      tats.set(key, step.tat);
      return { allowed: true };
    },
  };
}
