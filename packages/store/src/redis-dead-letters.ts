import type { PublishErrorCode } from "@hub/events";
import {
  DEAD_LETTER_MAX_STREAMS_PER_SOURCE,
  DEAD_LETTER_STREAM_LENGTH,
  DEAD_LETTER_TTL_MS,
  type DeadLetter,
  type DeadLetterEntry,
  type DeadLetters,
  deadLetterOrg,
  deadLetterStreamName,
  type IngestSource,
  overflowStreamName,
  pageOfStreams,
  type StreamNames,
  UNKNOWN_STREAM,
} from "./dead-letters.js";
import type { HubKeys } from "./keys.js";
import { DEAD_LETTER_ADMISSION, withHubCommands } from "./lua/scripts.js";
import type { RedisClient } from "./redis-client.js";

/** How long a fingerprint keeps the same input from being dead-lettered twice. */
const SEEN_MS = 5 * 60_000;
/** Orgs whose indexes a listing reads in one go (at least; a page of more streams reads as many orgs). */
const ORGS_READ_AT_ONCE = 16;

export interface RedisDeadLettersOptions {
  /** How long a stream lives after its last write; the indexes forget it then too. @default DEAD_LETTER_TTL_MS (7 days) */
  ttlMs?: number;
  /** Entries kept per stream (approximately). @default DEAD_LETTER_STREAM_LENGTH */
  maxLength?: number;
  /**
   * Streams one source may write within `ttlMs`; its entries for any other stream go to
   * `overflowStreamName(source)`. `_unknown` does not count. @default DEAD_LETTER_MAX_STREAMS_PER_SOURCE (1,000)
   */
  maxStreamsPerSource?: number;
  /** The clock that scores the indexes. @default Date.now */
  now?: () => number;
}

/**
 * The dead-letter queue as Redis Streams `<prefix>:dlq:{<org_id>}:<event_type>` (lua/deadLetter-3.lua),
 * each expiring 7 days after its last write. Every key of one org carries the org as hash tag, so
 * the script that writes a letter touches one Redis Cluster slot: the stream, the org's index of
 * stream names `<prefix>:dlq-index:{<org_id>}` and the input's fingerprint key. Two single-key
 * steps come before it, each safe to repeat:
 * - a source's streams are counted in `<prefix>:dlq-source:<source>` (lua/deadLetterAdmit-1.lua),
 *   which decides whether the letter goes to its own stream or, past the cap, to `_overflow:<source>`;
 * - the orgs with dead letters are listed in `<prefix>:dlq-orgs`, which listings read first.
 * Each index (scored by last write) forgets streams once they have expired.
 */
export function redisDeadLetters(redis: RedisClient, keys: HubKeys, options: RedisDeadLettersOptions = {}): DeadLetters {
  const client = withHubCommands(redis);
  const ttlMs = options.ttlMs ?? DEAD_LETTER_TTL_MS;
  const maxLength = options.maxLength ?? DEAD_LETTER_STREAM_LENGTH;
  const maxStreamsPerSource = options.maxStreamsPerSource ?? DEAD_LETTER_MAX_STREAMS_PER_SOURCE;
  const now = options.now ?? Date.now;
  // One command per stream, not a pipeline: on Redis Cluster the streams live on several nodes.
  const lengths = (names: string[]) => Promise.all(names.map((name) => redis.xlen(keys.deadLetters(name))));

  /**
   * The names of the streams written within their lifetime after `after`, in order, reading the
   * orgs' indexes only as far as asked: every name of an org starts with the org (`deadLetterOrg`),
   * so a name below every org not read yet is the next one.
   */
  async function namesAfter(after: string | undefined): Promise<StreamNames> {
    const at = now();
    const names = (index: string) => client.hubDeadLetterNames(index, at, ttlMs);
    // An org's names are `<org>` or `<org>:<type>`, all below `<org>;`: skip the orgs wholly before `after`.
    const orgs = (await names(keys.deadLetterOrgs)).sort().filter((org) => after === undefined || `${org};` > after);
    let unread = 0;
    let pending: string[] = [];
    return {
      async next(count) {
        while (unread < orgs.length && (pending.length < count || (orgs[unread] as string) <= (pending[count - 1] as string))) {
          const batch = orgs.slice(unread, unread + Math.max(count, ORGS_READ_AT_ONCE));
          unread += batch.length;
          const read = (await Promise.all(batch.map((org) => names(keys.deadLetterIndex(org))))).flat();
          pending = [...pending, ...read.filter((name) => after === undefined || name > after)].sort();
        }
        return pending.splice(0, count);
      },
    };
  }

  /** The stream a letter of `source` for `own` goes to: its own, or the source's overflow stream past the cap. */
  async function place(source: IngestSource, own: string, at: number): Promise<string> {
    // `_unknown` is one stream however much input lands there.
    if (own === UNKNOWN_STREAM) return own;
    const admission = await client.hubDeadLetterAdmit(keys.deadLetterSourceIndex(source), own, at, ttlMs, maxStreamsPerSource);
    return admission === DEAD_LETTER_ADMISSION.admitted ? own : overflowStreamName(source);
  }

  return {
    async append(letter, fingerprint) {
      const own = letter.stream ?? deadLetterStreamName(letter.orgId, letter.type);
      const at = now();
      const stream = await place(letter.source, own, at);
      const org = deadLetterOrg(stream);
      // Before the letter, so a listing never misses an org that has one (cap 0: never full).
      await client.hubDeadLetterAdmit(keys.deadLetterOrgs, org, at, ttlMs, 0);
      const streamKey = keys.deadLetters(stream);
      const id = await client.hubDeadLetter(
        streamKey,
        keys.deadLetterIndex(org),
        // Without a fingerprint there is nothing to remember: the script leaves this key alone.
        fingerprint === undefined ? streamKey : keys.deadLetterSeen(org, fingerprint),
        stream,
        maxLength,
        fingerprint === undefined ? 0 : SEEN_MS,
        ttlMs,
        at,
        ...entryFields(letter),
      );
      if (id === null) return false;
      return { stream, overflow: stream !== own };
    },

    async streams() {
      const names = await (await namesAfter(undefined)).next(Number.POSITIVE_INFINITY);
      const counts = await lengths(names);
      return names.map((stream, i) => ({ stream, length: counts[i] ?? 0 })).filter((s) => s.length > 0);
    },

    async streamPage(page) {
      return pageOfStreams(await namesAfter(page.after), page.limit, lengths);
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

/** A letter as the field, value pairs of its stream entry. */
function entryFields(letter: DeadLetter): string[] {
  return [
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
