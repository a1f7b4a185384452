import { EMPTY_EPOCH } from "@hub/events";
import { decodeBroadcast } from "./broadcast-encoder.js";
import { type History, type StoredEntry, settleRead } from "./history.js";
import type { HubKeys } from "./keys.js";
import { withHubCommands } from "./lua/scripts.js";
import type { RedisClient } from "./redis-client.js";

/**
 * Reads the per-topic histories the Redis event sink writes: a stream per topic with entry ids
 * `<offset>-0`, each holding the broadcast as it was published (`m`) and when (`t`). Reads write
 * nothing: a topic nobody has published on answers `EMPTY_EPOCH`.
 */
export function redisHistory(redis: RedisClient, keys: HubKeys): History {
  const client = withHubCommands(redis);
  return {
    async read(topic, policy, query) {
      const { stream, meta, cursor } = keys.history(topic);
      const since = query.since;
      const [epoch, top, matched, rows, nowMs] = await client.hubReadHistoryBuffer(
        stream,
        meta,
        cursor,
        EMPTY_EPOCH,
        since?.offset ?? -1,
        since?.epoch ?? "",
        query.fromCursor ? 1 : 0,
      );
      const entries: StoredEntry[] = [];
      for (const [id, fields] of rows) {
        const entry = readEntry(id, fields);
        if (entry) entries.push(entry);
      }
      // Entry times and now are both Redis's clock.
      const raw = { position: { epoch: String(epoch), offset: Number(top) }, sinceMatched: matched === 1, entries };
      return settleRead(raw, query, policy, Number(nowMs));
    },

    async acknowledge(topic, policy, offset, epoch) {
      const { meta, cursor } = keys.history(topic);
      return Number(await client.hubAcknowledge(meta, cursor, offset, epoch ?? "", policy.ttlMs));
    },
  };
}

/** One stream entry (fields `m`, `t`); an entry that cannot be read is skipped, never thrown. */
function readEntry(id: Buffer, fields: Buffer[]): StoredEntry | undefined {
  let message: Buffer | undefined;
  let addedAt = Number.NaN;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = String(fields[i]);
    if (name === "m") message = fields[i + 1];
    else if (name === "t") addedAt = Number(String(fields[i + 1]));
  }
  if (!message) return undefined;
  try {
    const decoded = decodeBroadcast(message);
    return decoded ? { ...decoded, offset: Number.parseInt(String(id), 10), addedAt } : undefined;
  } catch {
    return undefined;
  }
}
