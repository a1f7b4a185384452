import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from "@hub/devkit";
import { hubKeys, type RedisClient } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestNodes } from "../src/ingest/ingest-nodes.js";
import { redisIngestNodes } from "../src/ingest/redis-ingest-nodes.js";

/**
 * The legacy channel's membership (docs/operations.md "Legacy Redis channel"): one sorted set that
 * each gateway heartbeats into, on a single Redis and on a real 6-process Redis Cluster (one key,
 * so one slot: the script must run there unchanged).
 */

const TTL_MS = 5_000;

interface Topology {
  name: string;
  /** A fresh membership under its own key prefix, and a client to inspect it. */
  open(prefix: string): { nodes: IngestNodes; redis: RedisClient | undefined };
}

let single: RedisServer;
let cluster: RedisCluster;
const clients: RedisClient[] = [];

const topologies: Topology[] = [
  {
    name: "single Redis",
    open(prefix) {
      const redis = new Redis(single.url);
      clients.push(redis);
      return { nodes: redisIngestNodes(redis, hubKeys(prefix)), redis };
    },
  },
  {
    name: "Redis Cluster",
    open(prefix) {
      const redis = new Cluster(cluster.startupNodes);
      clients.push(redis);
      return { nodes: redisIngestNodes(redis, hubKeys(prefix)), redis };
    },
  },
];

beforeAll(async () => {
  [single, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all([single?.stop(), cluster?.stop()]);
});

describe.each(topologies)("legacy membership on $name", (topology) => {
  it("answers the live gateways on each heartbeat, itself included, and drops one that left", async () => {
    const prefix = `im${Math.random().toString(36).slice(2, 8)}`;
    const { nodes } = topology.open(prefix);
    expect(await nodes.beat("gw-1", TTL_MS)).toEqual(["gw-1"]);
    expect((await nodes.beat("gw-2", TTL_MS)).sort()).toEqual(["gw-1", "gw-2"]);
    expect((await nodes.beat("gw-3", TTL_MS)).sort()).toEqual(["gw-1", "gw-2", "gw-3"]);
    // A second heartbeat only refreshes.
    expect((await nodes.beat("gw-1", TTL_MS)).sort()).toEqual(["gw-1", "gw-2", "gw-3"]);
    await nodes.leave("gw-2");
    expect((await nodes.beat("gw-3", TTL_MS)).sort()).toEqual(["gw-1", "gw-3"]);
  });

  it("drops a gateway whose last heartbeat is older than the TTL, by Redis's clock, and removes its entry", async () => {
    const prefix = `im${Math.random().toString(36).slice(2, 8)}`;
    const keys = hubKeys(prefix);
    const { nodes, redis } = topology.open(prefix);
    const admin = redis as RedisClient;
    await nodes.beat("gw-alive", TTL_MS);
    // A gateway that died TTL + 1 s ago (Redis's clock), and one that beat just within the TTL.
    const [seconds, micros] = (await admin.time()) as [number, number];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await admin.zadd(keys.ingestNodes, now - TTL_MS - 1_000, "gw-dead", now - TTL_MS + 2_000, "gw-late");
    expect((await nodes.beat("gw-alive", TTL_MS)).sort()).toEqual(["gw-alive", "gw-late"]);
    expect((await admin.zrange(keys.ingestNodes, 0, -1)).sort()).toEqual(["gw-alive", "gw-late"]);
  });
});
