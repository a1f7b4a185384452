import { createLogger, exitOnSignal, loadConfigOrExit } from "@hub/runtime";
import { Redis } from "ioredis";

// Placeholder until the inhouse-queue worker lands: validates its configuration, holds a Redis
// connection when clustered, and drains on SIGTERM like every hub process.
const config = loadConfigOrExit(process.env, "worker");
const logger = createLogger("queue-worker", config.logLevel, config.nodeId);
const redis = config.redis
  ? new Redis(config.redis.url, {
      ...(config.redis.password === undefined ? {} : { password: config.redis.password }),
      connectionName: "hub-worker",
      maxRetriesPerRequest: null,
    })
  : undefined;
redis?.on("error", (error: Error) => logger.warn({ err: error.message }, "redis connection error"));
logger.info({ engine: config.engine }, "queue-worker started (stub: inhouse queues are not implemented yet)");
// Nothing else holds the event loop open yet; the process lives until it is told to stop.
const keepAlive = setInterval(() => {}, 60_000);
exitOnSignal(logger, config.shutdownTimeoutMs, async () => {
  clearInterval(keepAlive);
  await redis?.quit();
});
