/**
 * The gateways ingesting the legacy channel, kept alive by their heartbeats: what the orgs are
 * partitioned over (legacy-partition.ts). Only on Redis (redis-ingest-nodes.ts): the memory engine
 * ingests no legacy channel.
 */
export interface IngestNodes {
  /** Marks `nodeId` alive now and answers the nodes alive within the last `ttlMs`, `nodeId` included. */
  beat(nodeId: string, ttlMs: number): Promise<string[]>;
  /** Removes `nodeId` (a graceful shutdown): the others stop counting it at their next heartbeat. */
  leave(nodeId: string): Promise<void>;
}
