import { type HubKeys, luaCommands, type RedisClient } from "@hub/store";
import type { IngestNodes } from "./ingest-nodes.js";

interface IngestNodeCommands {
  hubIngestBeat(nodes: string, nodeId: string, ttlMs: number): Promise<string[]>;
}

const withIngestNodeCommands = luaCommands<IngestNodeCommands>(new URL("./lua/", import.meta.url), { hubIngestBeat: "beat-1" });

/**
 * The ingesting gateways in one sorted set (`keys.ingestNodes`) scored by Redis's clock, so hosts'
 * clocks do not matter. One key: one slot on Redis Cluster.
 */
export function redisIngestNodes(redis: RedisClient, keys: HubKeys): IngestNodes {
  const client = withIngestNodeCommands(redis);
  return {
    beat: (nodeId, ttlMs) => client.hubIngestBeat(keys.ingestNodes, nodeId, ttlMs),
    async leave(nodeId) {
      // Without Redis the entry is left to expire: the others stop counting it after the TTL.
      if (redis.status === "ready") await redis.zrem(keys.ingestNodes, nodeId);
    },
  };
}
