import { TopicRegistry } from "@hub/events";
import { type QueueWorker, redisQueueStore, startQueueWorker, startReconciler } from "@hub/inhouse";
import { connectRedis, createLogger, exitOnSignal, guardProcess, loadConfigOrExit } from "@hub/runtime";
import { createPublisher, hubKeys, redisDeadLetters, redisEventSink } from "@hub/store";
import { startMetricsServer } from "./metrics-server.js";
import { createWorkerMetrics } from "./worker-metrics.js";

const config = loadConfigOrExit(process.env, "worker");
const logger = createLogger("queue-worker", config.logLevel, config.nodeId);
guardProcess(logger);
if (!config.redis) {
  process.stderr.write(
    "worker: invalid configuration: REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS) is required (with the memory engine the hub runs its queues in the gateway process)\n",
  );
  process.exit(1);
}

const redis = connectRedis(config.redis, "worker", "main", logger);
const subscriber = connectRedis(config.redis, "worker", "wake", logger);

const keys = hubKeys(config.keyPrefix);
const store = redisQueueStore({ redis, subscriber, keys });
const publisher = createPublisher({
  sink: redisEventSink(redis, keys, { pubsub: config.redis.pubsub }),
  deadLetters: redisDeadLetters(redis, keys, { maxStreamsPerSource: config.dlqMaxStreamsPerSource }),
  topics: new TopicRegistry(config.namespaces),
});
let worker: QueueWorker | undefined;
const redisReady = () => ({ main: redis.status === "ready", wake: subscriber.status === "ready" });
const metrics = createWorkerMetrics({
  leasesHeld: () => worker?.owned().length ?? 0,
  leasesLost: () => worker?.stats.leasesLost ?? 0,
  redisConnections: redisReady,
});
// Listening first: a taken METRICS_PORT stops the process before it takes any lease.
const metricsServer = await startMetricsServer({
  registry: metrics.registry,
  port: config.metricsPort,
  host: config.host,
  health: () => {
    const connected = Object.values(redisReady()).every(Boolean);
    return {
      ok: connected,
      body: { status: connected ? "ok" : "degraded", redis: connected ? "connected" : "disconnected", node: config.nodeId },
    };
  },
}).catch((error: unknown) => {
  logger.fatal({ err: error, port: config.metricsPort }, "could not listen on METRICS_PORT");
  process.exit(1);
});
worker = startQueueWorker({
  store,
  logger,
  checkInTimeoutMs: config.checkInTimeoutMs,
  leaseTtlMs: config.queueLeaseTtlMs,
  publish: (event) => publisher.publish(event, { source: "emitter" }),
  metrics: metrics.queue,
});
const reconciler = startReconciler({
  backendApiUrl: config.backendApiUrl,
  internalSecret: config.auth.internalSecret,
  checkInTimeoutMs: config.checkInTimeoutMs,
  store,
  logger,
  onRun: metrics.reconcilerRun,
  onRefused: metrics.reconcilerRefused,
});
logger.info({ engine: "redis", lease_ttl_ms: config.queueLeaseTtlMs, metrics_port: metricsServer.port }, "queue-worker started");

exitOnSignal(logger, config.shutdownTimeoutMs, async () => {
  reconciler.stop();
  await worker?.close();
  await store.close();
  await redis.quit();
  await metricsServer.close();
});
