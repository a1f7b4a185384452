import {
  type GatewayProcess,
  type RedisCluster,
  type RedisSentinelSet,
  type RedisServer,
  serviceToken,
  startGateway,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
} from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import type { ProducerEvent } from "@hub/events";
import type { RedisClient } from "@hub/store";
import { Cluster, Redis } from "ioredis";

/** A running hub as the contract tests see it, whatever its engine. */
export interface HubFixture {
  engine: "memory" | "redis" | "cluster" | "sentinel";
  gateways: GatewayProcess[];
  /** Publishes one event the way a backend would on this engine. */
  publish(event: ProducerEvent): Promise<void>;
  /** What another gateway needs to join this hub's Redis (`REDIS_URL` or `REDIS_CLUSTER_NODES`); empty on memory. */
  redisEnv: Record<string, string>;
  /** A new client of this hub's Redis (a `Cluster` on a cluster); the caller disconnects it. Undefined on memory. */
  connectProducer?(): RedisClient;
  close(): Promise<void>;
}

/** POSTs events to `/api/v1/events` with a service token. */
export async function httpPublish(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${url}/api/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token ?? (await serviceToken())}` },
    body: JSON.stringify(body),
  });
}

/** One gateway on the embedded memory engine; producers reach it over HTTP. */
export async function memoryHub(env: Record<string, string> = {}): Promise<HubFixture> {
  const gateway = await startGateway(env);
  return {
    engine: "memory",
    gateways: [gateway],
    redisEnv: {},
    async publish(event) {
      const res = await httpPublish(gateway.url, event);
      if (res.status !== 202) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
    },
    async close() {
      await gateway.stop();
    },
  };
}

/** `nodes` gateways on a fresh redis-server; producers use the emitter SDK. */
export async function redisHub(nodes: number, env: Record<string, string> = {}): Promise<HubFixture & { redis: RedisServer }> {
  const redis = await startRedis();
  const hub = await sharedRedisHub("redis", nodes, env, {
    redisEnv: { REDIS_URL: redis.url },
    connectProducer: () => new Redis(redis.url),
    pubsub: env.HUB_PUBSUB === "sharded" ? "sharded" : "classic",
    stop: () => redis.stop(),
  });
  return { ...hub, redis };
}

/**
 * `nodes` gateways on a fresh 6-process Redis Cluster (3 masters + 3 replicas), sharded pub/sub
 * unless `env.HUB_PUBSUB` says classic; producers use the emitter SDK on a `Cluster` client.
 */
export async function clusterHub(nodes: number, env: Record<string, string> = {}): Promise<HubFixture & { cluster: RedisCluster }> {
  const cluster = await startRedisCluster();
  const hub = await sharedRedisHub("cluster", nodes, env, {
    redisEnv: { REDIS_CLUSTER_NODES: cluster.seeds },
    connectProducer: () => new Cluster(cluster.startupNodes),
    pubsub: env.HUB_PUBSUB === "classic" ? "classic" : "sharded",
    stop: () => cluster.stop(),
  });
  return { ...hub, cluster };
}

/** `nodes` gateways on a Sentinel-managed Redis (a master, a replica, three Sentinels); producers use the emitter SDK through the Sentinels. */
export async function sentinelHub(nodes: number, env: Record<string, string> = {}): Promise<HubFixture & { sentinel: RedisSentinelSet }> {
  const sentinel = await startRedisSentinel();
  const hub = await sharedRedisHub("sentinel", nodes, env, {
    redisEnv: { REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name },
    connectProducer: () => new Redis({ sentinels: sentinel.sentinelNodes, name: sentinel.name }),
    pubsub: env.HUB_PUBSUB === "sharded" ? "sharded" : "classic",
    stop: () => sentinel.stop(),
  });
  return { ...hub, sentinel };
}

/** `nodes` gateways on a Redis the caller started, and an emitter SDK producer on it. */
async function sharedRedisHub(
  engine: "redis" | "cluster" | "sentinel",
  nodes: number,
  env: Record<string, string>,
  redis: { redisEnv: Record<string, string>; connectProducer(): RedisClient; pubsub: "classic" | "sharded"; stop(): Promise<void> },
): Promise<HubFixture> {
  const redisEnv = { ...redis.redisEnv, ...(env.HUB_PUBSUB ? { HUB_PUBSUB: env.HUB_PUBSUB } : {}) };
  const gateways = await Promise.all(
    Array.from({ length: nodes }, (_, i) => startGateway({ ...redisEnv, HUB_NODE_ID: `gw-${i + 1}`, ...env })),
  );
  const producer = redis.connectProducer();
  const hub = createHubEmitter({ redis: producer, pubsub: redis.pubsub });
  return {
    engine,
    gateways,
    redisEnv,
    connectProducer: redis.connectProducer,
    async publish(event) {
      await hub.publish(event);
    },
    async close() {
      producer.disconnect();
      await Promise.all(gateways.map((g) => g.stop()));
      await redis.stop();
    },
  };
}
