import { createPublisher, hubKeys, redisDeadLetters, redisEventSink } from "@hub/emitter";
import { TopicRegistry } from "@hub/events";
import { redisQueueStore, startQueueWorker } from "@hub/inhouse";
import { createLogger, exitOnSignal, loadConfigOrExit } from "@hub/runtime";
import { Redis } from "ioredis";
import { startReconciler } from "./reconciler.js";

const config = loadConfigOrExit(process.env, "worker");
const logger = createLogger("queue-worker", config.logLevel, config.nodeId);
if (!config.redis) {
  process.stderr.write(
    "worker: invalid configuration: REDIS_URL is required (with the memory engine the hub runs its queues in the gateway process)\n",
  );
  process.exit(1);
}

const redis = new Redis(config.redis.url, {
  ...(config.redis.password === undefined ? {} : { password: config.redis.password }),
  connectionName: "hub-worker",
  maxRetriesPerRequest: null,
});
const subscriber = redis.duplicate({ connectionName: "hub-worker-wake" });
for (const client of [redis, subscriber])
  client.on("error", (error: Error) => logger.warn({ err: error.message }, "redis connection error"));

const keys = hubKeys(config.keyPrefix);
const store = redisQueueStore({ redis, subscriber, keys });
const publisher = createPublisher({
  sink: redisEventSink(redis, keys),
  deadLetters: redisDeadLetters(redis, keys),
  topics: new TopicRegistry(config.namespaces),
});
const worker = startQueueWorker({
  store,
  logger,
  checkInTimeoutMs: config.checkInTimeoutMs,
  leaseTtlMs: config.queueLeaseTtlMs,
  publish: (event) => publisher.publish(event, { source: "emitter" }),
});
const reconciler = startReconciler({ config, store, logger });
logger.info({ engine: "redis", lease_ttl_ms: config.queueLeaseTtlMs }, "queue-worker started");

exitOnSignal(logger, config.shutdownTimeoutMs, async () => {
  reconciler.stop();
  await worker.close();
  await store.close();
  await redis.quit();
});
