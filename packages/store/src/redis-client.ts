import type { Cluster, Redis } from "ioredis";

/**
 * A connection to the hub's Redis: one server or a Sentinel-managed master (`Redis`), or a Redis
 * Cluster (`Cluster`). Every store takes either: each script touches the keys of one slot.
 */
export type RedisClient = Redis | Cluster;
