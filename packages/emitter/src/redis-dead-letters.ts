import { randomUUID } from "node:crypto";
import type { PublishErrorCode } from "@hub/events";
import type { Redis } from "ioredis";
import {
  DEAD_LETTER_STREAM_LENGTH,
  type DeadLetterEntry,
  type DeadLetters,
  deadLetterStreamName,
  type IngestSource,
} from "./dead-letters.js";
import type { HubKeys } from "./keys.js";
import { withHubCommands } from "./lua/scripts.js";

/** How long a fingerprint keeps the same input from being dead-lettered twice. */
const SEEN_MS = 5 * 60_000;

/** The dead-letter queue as Redis Streams `<prefix>:dlq:{org_id}:{event_type}` (lua/deadLetter-3.lua). */
export function redisDeadLetters(redis: Redis, keys: HubKeys): DeadLetters {
  const client = withHubCommands(redis);
  return {
    async append(letter, fingerprint = randomUUID()) {
      const stream = deadLetterStreamName(letter.orgId, letter.type);
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
      const id = await client.hubDeadLetter(
        keys.deadLetters(stream),
        keys.deadLetterIndex,
        keys.deadLetterSeen(fingerprint),
        stream,
        DEAD_LETTER_STREAM_LENGTH,
        SEEN_MS,
        ...fields,
      );
      return id !== null;
    },

    async streams() {
      const names = (await redis.smembers(keys.deadLetterIndex)).sort();
      const pipeline = redis.pipeline();
      for (const name of names) pipeline.xlen(keys.deadLetters(name));
      const lengths = (await pipeline.exec()) ?? [];
      return names.map((stream, i) => ({ stream, length: Number(lengths[i]?.[1] ?? 0) })).filter((s) => s.length > 0);
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
