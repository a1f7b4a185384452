import { type HubKeys, luaCommands, type RedisClient } from "@hub/store";
import { type CallLines, LINE_TTL_MS } from "./call-lines.js";

interface Commands {
  hubClaimCallLine(line: string, expected: string, callId: string, ttlMs: number): Promise<number>;
}

const withLineCommands = luaCommands<Commands>(new URL("./lua/", import.meta.url), { hubClaimCallLine: "claimCallLine-1" });

/** Call lines in Redis: one key per user, in the user's slot (`keys.callLine`). */
export function redisCallLines(redis: RedisClient, keys: HubKeys): CallLines {
  const client = withLineCommands(redis);
  return {
    read: (orgId, userId) => redis.get(keys.callLine(orgId, userId)),
    async claim(orgId, userId, expected, line, ttlMs = LINE_TTL_MS) {
      return (await client.hubClaimCallLine(keys.callLine(orgId, userId), expected ?? "", line, ttlMs)) === 1;
    },
  };
}
