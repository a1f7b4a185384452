import type { PublishErrorCode } from "@hub/events";
import {
  DEAD_LETTER_MAX_STREAMS_PER_SOURCE,
  DEAD_LETTER_STREAM_LENGTH,
  DEAD_LETTER_TTL_MS,
  type DeadLetterEntry,
  type DeadLetters,
  deadLetterStreamName,
  type IngestSource,
  overflowStreamName,
  pageOfStreams,
  UNKNOWN_STREAM,
} from "./dead-letters.js";
import type { HubKeys } from "./keys.js";
import { withHubCommands } from "./lua/scripts.js";
import type { RedisClient } from "./redis-client.js";

/** How long a fingerprint keeps the same input from being dead-lettered twice. */
const SEEN_MS = 5 * 60_000;

export interface RedisDeadLettersOptions {
  /** How long a stream lives after its last write; the index forgets it then too. @default DEAD_LETTER_TTL_MS (7 days) */
  ttlMs?: number;
  /** Entries kept per stream (approximately). @default DEAD_LETTER_STREAM_LENGTH */
  maxLength?: number;
  /**
   * Streams one source may write within `ttlMs`; its entries for any other stream go to
   * `overflowStreamName(source)`. `_unknown` does not count. @default DEAD_LETTER_MAX_STREAMS_PER_SOURCE (1,000)
   */
  maxStreamsPerSource?: number;
  /** The clock that scores the index. @default Date.now */
  now?: () => number;
}

/**
 * The dead-letter queue as Redis Streams `<prefix>:dlq:{org_id}:{event_type}` (lua/deadLetter-5.lua),
 * each expiring 7 days after its last write, listed in the sorted set `<prefix>:dlq-index` (stream
 * name scored by last write), which forgets streams once they have expired. Each source's streams
 * are counted in `<prefix>:dlq-index:{source}`; past its cap it writes to `_overflow:{source}`.
 */
export function redisDeadLetters(redis: RedisClient, keys: HubKeys, options: RedisDeadLettersOptions = {}): DeadLetters {
  const client = withHubCommands(redis);
  const ttlMs = options.ttlMs ?? DEAD_LETTER_TTL_MS;
  const maxLength = options.maxLength ?? DEAD_LETTER_STREAM_LENGTH;
  const maxStreamsPerSource = options.maxStreamsPerSource ?? DEAD_LETTER_MAX_STREAMS_PER_SOURCE;
  const now = options.now ?? Date.now;
  const lengths = async (names: string[]) => {
    const pipeline = redis.pipeline();
    for (const name of names) pipeline.xlen(keys.deadLetters(name));
    const replies = (await pipeline.exec()) ?? [];
    return names.map((_, i) => Number(replies[i]?.[1] ?? 0));
  };
  return {
    async append(letter, fingerprint) {
      const stream = letter.stream ?? deadLetterStreamName(letter.orgId, letter.type);
      const fields = [
        "source",
        letter.source,
        "code",
        letter.code,
        "message",
        letter.message,
        "issues",
        JSON.stringify(letter.issues),
        "org_id",
        letter.orgId ?? "",
        "type",
        letter.type ?? "",
        "channel",
        letter.channel ?? "",
        "raw",
        letter.raw,
        "truncated",
        letter.truncated ? "1" : "0",
        "received_at",
        String(letter.receivedAt),
      ];
      const streamKey = keys.deadLetters(stream);
      const overflow = overflowStreamName(letter.source);
      const written = await client.hubDeadLetter(
        streamKey,
        keys.deadLetterIndex,
        // Without a fingerprint there is nothing to remember: the script leaves this key alone.
        fingerprint === undefined ? streamKey : keys.deadLetterSeen(fingerprint),
        keys.deadLetterSourceIndex(letter.source),
        keys.deadLetters(overflow),
        stream,
        maxLength,
        fingerprint === undefined ? 0 : SEEN_MS,
        ttlMs,
        now(),
        // `_unknown` is one stream however much input lands there.
        stream === UNKNOWN_STREAM ? 0 : maxStreamsPerSource,
        overflow,
        ...fields,
      );
      if (written === null) return false;
      return written[1] === 1 ? { stream: overflow, overflow: true } : { stream, overflow: false };
    },

    async streams() {
      const names = (await client.hubDeadLetterStreams(keys.deadLetterIndex, now(), ttlMs)).sort();
      const counts = await lengths(names);
      return names.map((stream, i) => ({ stream, length: counts[i] ?? 0 })).filter((s) => s.length > 0);
    },

    async streamPage(page) {
      // The index is bounded (streams per source times sources): reading its names is cheap, lengths are read per page.
      const names = (await client.hubDeadLetterStreams(keys.deadLetterIndex, now(), ttlMs)).sort();
      return pageOfStreams(names, page, lengths);
    },

    async entries(stream, { after, count }) {
      const start = after === undefined ? "-" : `(${after}`;
      const rows = await redis.xrange(keys.deadLetters(stream), start, "+", "COUNT", count);
      return rows.map(([id, flat]) => toEntry(stream, id, flat));
    },

    async remove(stream, ids) {
      return ids.length === 0 ? 0 : redis.xdel(keys.deadLetters(stream), ...ids);
    },
  };
}

function toEntry(stream: string, id: string, flat: string[]): DeadLetterEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i] as string, flat[i + 1] as string);
  const text = (name: string) => f.get(name) || undefined;
  let issues: string[] = [];
  try {
    issues = JSON.parse(f.get("issues") ?? "[]") as string[];
  } catch {}
  return {
    id,
    stream,
    source: (f.get("source") ?? "http") as IngestSource,
    code: (f.get("code") ?? "invalid_event") as PublishErrorCode,
    message: f.get("message") ?? "",
    issues,
    orgId: text("org_id"),
    type: text("type"),
    channel: text("channel"),
    raw: f.get("raw") ?? "",
    truncated: f.get("truncated") === "1",
    receivedAt: Number(f.get("received_at") ?? 0),
  };
}
