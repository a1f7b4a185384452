/**
 * The gateways ingesting the legacy channel, kept alive by their heartbeats: what the orgs are
 * partitioned over (legacy-partition.ts). The Redis version keeps them in one sorted set.
 */
export interface IngestNodes {
  /** Marks `nodeId` alive now and answers the nodes alive within the last `ttlMs`, `nodeId` included. */
  beat(nodeId: string, ttlMs: number): Promise<string[]>;
  /** Removes `nodeId` (a graceful shutdown): the others stop counting it at their next heartbeat. */
  leave(nodeId: string): Promise<void>;
}

/** In process, for the memory engine (one node, which ingests no legacy channel): its own clock. */
export function memoryIngestNodes(now: () => number = Date.now): IngestNodes {
  const beats = new Map<string, number>();
  return {
    async beat(nodeId, ttlMs) {
      const at = now();
      beats.set(nodeId, at);
      for (const [node, last] of beats) if (last < at - ttlMs) beats.delete(node);
      return [...beats.keys()];
    },
    async leave(nodeId) {
      beats.delete(nodeId);
    },
  };
}
