import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { ProcessRole, RedisSettings } from "./hub-config.js";
import { stopOnRefusedPassword } from "./redis-credentials.js";

/** Reconnect delays: 200 ms x attempt, at most 2 s apart (docs/operations.md "Health endpoints"). */
export const REDIS_RETRY_STEP_MS = 200;
export const REDIS_RETRY_MAX_MS = 2_000;

/**
 * A Redis connection of a hub process, built one way everywhere: named `hub-<role>-<name>` in
 * `CLIENT LIST`, commands wait through an outage instead of failing after a few retries
 * (`maxRetriesPerRequest: null`: callers bound their own waits), reconnects every 200 ms x attempt
 * up to 2 s, one log line per state change (not one per retry), and a password Redis refuses before
 * the first connection stops the process with one line naming the variable.
 */
export function connectRedis(settings: RedisSettings, role: ProcessRole, name: string, logger: Logger): Redis {
  const client = new Redis(settings.url, {
    ...(settings.password === undefined ? {} : { password: settings.password }),
    connectionName: `hub-${role}-${name}`,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * REDIS_RETRY_STEP_MS, REDIS_RETRY_MAX_MS),
  });
  let lastError = "";
  client.on("error", (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn({ redis: name, err: error.message }, "redis connection error");
  });
  client.on("ready", () => {
    lastError = "";
    logger.info({ redis: name }, "redis connected");
  });
  // A password Redis refuses at startup is a configuration error, not an outage.
  stopOnRefusedPassword(client, role, settings, logger);
  return client;
}
