import { ENTITY_BUCKETS, type HubKeys, luaCommands, type RedisClient } from "@hub/store";
import { ENTITY_TOMBSTONE_MS, type EntityStore } from "./entity-store.js";

interface Commands {
  hubCommitEntity(...args: Array<string | number>): Promise<number>;
  hubAckEntityOutbox(outbox: string, outboxes: string, id: string, ...delivered: string[]): Promise<number>;
}

const withEntityCommands = luaCommands<Commands>(new URL("./lua/", import.meta.url), {
  hubCommitEntity: "commitEntity-4",
  hubAckEntityOutbox: "ackEntityOutbox-2",
});

const BUCKETS = Array.from({ length: ENTITY_BUCKETS }, (_, bucket) => bucket);

/**
 * Entities in Redis: a hash per entity (state, version), its outbox list, and per bucket a sorted
 * set of deadlines and one of entities with undelivered events, all of a bucket in one slot
 * (`keys.entity`), every write one script (lua/commitEntity-4.lua), so it runs on Redis Cluster.
 * The passes over deadlines and outboxes read every bucket (one command each, in parallel).
 */
export function redisEntityStore(redis: RedisClient, keys: HubKeys): EntityStore {
  const client = withEntityCommands(redis);

  const everyBucket = async (read: (bucket: number) => Promise<string[]>) => (await Promise.all(BUCKETS.map(read))).flat();

  return {
    async load(kind, id) {
      const [state, version] = await redis.hmget(keys.entity(kind, id).state, "state", "version");
      return { state: state ? JSON.parse(state) : null, version: version === null ? -1 : Number(version) };
    },
    async commit(change) {
      const k = keys.entity(change.kind, change.id);
      const result = await client.hubCommitEntity(
        k.state,
        k.deadlines,
        k.outbox,
        k.outboxes,
        change.id,
        change.expectedVersion,
        change.state ?? "",
        change.deadline ?? "",
        change.state === null ? ENTITY_TOMBSTONE_MS : (change.retainMs ?? ""),
        Date.now(),
        ...change.emissions.map((e) => JSON.stringify(e)),
      );
      return result === -2 ? "conflict" : result;
    },
    due(kind, now, limit) {
      return everyBucket((bucket) => redis.zrangebyscore(keys.entityBucket(kind, bucket).deadlines, "-inf", now, "LIMIT", 0, limit));
    },
    stalled(kind, before, limit) {
      return everyBucket((bucket) => redis.zrangebyscore(keys.entityBucket(kind, bucket).outboxes, "-inf", before, "LIMIT", 0, limit));
    },
    outbox(kind, id, count) {
      return redis.lrange(keys.entity(kind, id).outbox, 0, count - 1);
    },
    async ackOutbox(kind, id, delivered) {
      if (delivered.length === 0) return;
      const k = keys.entity(kind, id);
      await client.hubAckEntityOutbox(k.outbox, k.outboxes, id, ...delivered);
    },
  };
}
