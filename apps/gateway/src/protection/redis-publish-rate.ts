import { type HubKeys, luaCommands, type RedisClient } from "@hub/store";
import type { PublishRate, PublishRateSettings, RateDecision } from "./publish-rate.js";

interface RateCommands {
  hubPublishRate(key: string, intervalMs: number, burst: number, cost: number): Promise<number>;
}

const withRateCommands = luaCommands<RateCommands>(new URL("./lua/", import.meta.url), { hubPublishRate: "publishRate-1" });

/** How long a gateway may spend a user's reserved unit on their ephemeral publications. */
const CREDIT_MS = 1_000;
/** Users with credit on this gateway at most; past it the oldest credit is forgotten (spent). */
const MAX_CREDITS = 50_000;

/**
 * Per-user client publication rate across every gateway: one script call on the user's slot per
 * durable publication. An ephemeral one (a typing indicator, cost 0.1) takes a whole unit the first
 * time and spends the rest of it on the user's next ephemeral publications through this gateway
 * for up to a second: a tenth of the Redis calls. Credit never allows more than the rate (what is
 * reserved and not spent is lost, so at most 0.9 of a unit per user per gateway per second is
 * charged without being used); when a whole unit is refused, the exact cost is asked for.
 */
export function redisPublishRate(redis: RedisClient, keys: HubKeys, settings: PublishRateSettings): PublishRate {
  const client = withRateCommands(redis);
  const interval = 1000 / settings.ratePerSecond;
  const credits = new Map<string, { left: number; until: number }>();
  const ask = async (orgId: string, userId: string, cost: number): Promise<RateDecision> => {
    const wait = await client.hubPublishRate(keys.publishRate(orgId, userId), interval, settings.burst, cost);
    return wait < 0 ? { allowed: true } : { allowed: false, retryAfterMs: wait };
  };
  /** Spends from the user's credit on this gateway, if it has enough left. */
  const spend = (key: string, cost: number): boolean => {
    const credit = credits.get(key);
    // Fractions of tenths: compare with a margin, so ten 0.1s spend exactly one unit.
    if (!credit || credit.until <= Date.now() || credit.left < cost - 1e-9) return false;
    credit.left -= cost;
    return true;
  };
  // One reservation in flight per user: publications that arrive meanwhile wait for it and spend from it.
  const reserving = new Map<string, Promise<RateDecision>>();
  return {
    async take(orgId, userId, cost) {
      if (cost >= 1) return ask(orgId, userId, cost);
      const key = `${orgId}\n${userId}`;
      for (;;) {
        if (spend(key, cost)) return { allowed: true };
        const pending = reserving.get(key);
        if (!pending) break;
        if (!(await pending).allowed) return ask(orgId, userId, cost);
      }
      const reservation = ask(orgId, userId, 1).finally(() => reserving.delete(key));
      reserving.set(key, reservation);
      const unit = await reservation;
      if (!unit.allowed) return ask(orgId, userId, cost);
      credits.delete(key);
      for (const oldest of credits.keys()) {
        if (credits.size < MAX_CREDITS) break;
        credits.delete(oldest);
      }
      credits.set(key, { left: 1 - cost, until: Date.now() + CREDIT_MS });
      return { allowed: true };
    },
  };
}
