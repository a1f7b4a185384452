import { type HubKeys, luaCommands, type RedisClient } from "@hub/store";
import type { PublishRate, PublishRateSettings } from "./publish-rate.js";

interface RateCommands {
  hubPublishRate(key: string, intervalMs: number, burst: number, cost: number): Promise<number>;
}

const withRateCommands = luaCommands<RateCommands>(new URL("./lua/", import.meta.url), { hubPublishRate: "publishRate-1" });

/** Per-user client publication rate across every gateway: one script call on the user's slot per publication. */
export function redisPublishRate(redis: RedisClient, keys: HubKeys, settings: PublishRateSettings): PublishRate {
  const client = withRateCommands(redis);
  const interval = 1000 / settings.ratePerSecond;
  return {
    async take(orgId, userId, cost) {
      const wait = await client.hubPublishRate(keys.publishRate(orgId, userId), interval, settings.burst, cost);
      return wait < 0 ? { allowed: true } : { allowed: false, retryAfterMs: wait };
    },
  };
}
