import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { ProcessRole } from "./hub-config.js";
import { stopOnRefusedPassword } from "./redis-credentials.js";
import type { RedisSettings } from "./redis-settings.js";

/** Reconnect delays: 200 ms x attempt, at most 2 s apart (docs/operations.md "Health endpoints"). */
export const REDIS_RETRY_STEP_MS = 200;
export const REDIS_RETRY_MAX_MS = 2_000;

const retryStrategy = (attempt: number) => Math.min(attempt * REDIS_RETRY_STEP_MS, REDIS_RETRY_MAX_MS);

/**
 * A Redis connection of a hub process, built one way everywhere: named `hub-<role>-<name>` in
 * `CLIENT LIST`, commands wait through an outage instead of failing after a few retries
 * (`maxRetriesPerRequest: null`: callers bound their own waits), reconnects every 200 ms x attempt
 * up to 2 s, one log line per state change (not one per retry), and a password Redis refuses before
 * the first connection stops the process with one line naming the variable.
 *
 * On Redis Cluster it is an ioredis `Cluster` (commands follow MOVED / ASK and wait through a
 * failover); with Sentinels, a `Redis` that asks them for the master and follows a failover.
 */
export function connectRedis(
  settings: RedisSettings,
  role: ProcessRole,
  name: string,
  logger: Logger,
  { giveUpAfter }: { giveUpAfter?: number } = {},
): Redis | Cluster {
  const options: RedisOptions = {
    ...(settings.password === undefined ? {} : { password: settings.password }),
    connectionName: `hub-${role}-${name}`,
    maxRetriesPerRequest: null,
    // `giveUpAfter` attempts, then the client ends (a caller that connects elsewhere then).
    retryStrategy: giveUpAfter === undefined ? retryStrategy : (attempt) => (attempt > giveUpAfter ? null : retryStrategy(attempt)),
  };
  const { target } = settings;
  const client =
    target.kind === "cluster"
      ? new Cluster([...target.nodes], {
          redisOptions: options,
          clusterRetryStrategy: retryStrategy,
          // A failover takes the cluster's node timeout plus an election: keep retrying meanwhile.
          retryDelayOnClusterDown: 200,
          retryDelayOnFailover: 200,
          retryDelayOnTryAgain: 200,
          maxRedirections: 64,
          slotsRefreshInterval: 2_000,
        })
      : target.kind === "sentinel"
        ? new Redis({
            ...options,
            sentinels: [...target.sentinels],
            name: target.name,
            ...((settings.sentinelPassword ?? settings.password)
              ? { sentinelPassword: settings.sentinelPassword ?? settings.password }
              : {}),
            sentinelRetryStrategy: retryStrategy,
            failoverDetector: true,
          })
        : new Redis(target.url, options);
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

/** Whether a client is a Redis Cluster connection. */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return client instanceof Cluster;
}
