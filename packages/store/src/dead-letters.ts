import type { PublishErrorCode } from "@hub/events";

/** Which producer path an event came in on. */
export type IngestSource = "emitter" | "http" | "webhook" | "legacy";

/** A rejected event, as recorded in the dead-letter queue. */
export interface DeadLetter {
  /**
   * The stream to append to (see `deadLetterStreamName`). The publisher names it, `_unknown` for a
   * type the hub does not know. @default deadLetterStreamName(orgId, type)
   */
  stream?: string;
  source: IngestSource;
  code: PublishErrorCode;
  message: string;
  issues: readonly string[];
  /** The org and type, when they could be read from the input. */
  orgId: string | undefined;
  type: string | undefined;
  /** The input as received, cut at `MAX_RAW_BYTES`. */
  raw: string;
  truncated: boolean;
  /** The Redis channel, for events from the legacy channel (replays need it). */
  channel: string | undefined;
  receivedAt: number;
}

export interface DeadLetterEntry extends DeadLetter {
  /** The entry id within its stream. */
  id: string;
  /** The stream name: `{org_id}:{event_type}` or `_unknown`. */
  stream: string;
}

export interface DeadLetterStreamInfo {
  stream: string;
  length: number;
}

/** Where `append` put a letter. */
export interface DeadLetterReceipt {
  /** The stream written: the letter's own, or its source's overflow stream (`overflowStreamName`). */
  stream: string;
  /** Whether its own stream would have been one too many for its source (`maxStreamsPerSource`). */
  overflow: boolean;
}

/** One page of `streamPage`. */
export interface DeadLetterStreamPage {
  /** Streams that hold entries, by name (code-unit order). */
  streams: DeadLetterStreamInfo[];
  /** The `after` of the next page; undefined when this page is the last. */
  next: string | undefined;
}

/** The dead-letter queue: per-org, per-type streams of rejected events, each capped in length. */
export interface DeadLetters {
  /**
   * Records a rejected event. With a fingerprint, the same input is recorded once however many
   * nodes reject it (the legacy channel reaches every gateway): resolves `false` when it already was.
   * A source that already has entries in `maxStreamsPerSource` other streams writes to its overflow
   * stream instead: producer input cannot multiply streams without bound.
   */
  append(letter: DeadLetter, fingerprint?: string): Promise<DeadLetterReceipt | false>;
  /** Every stream that holds entries. */
  streams(): Promise<DeadLetterStreamInfo[]>;
  /** Streams that hold entries, by name, at most `limit`, after the stream named `after`. */
  streamPage(page: { after?: string; limit: number }): Promise<DeadLetterStreamPage>;
  /** Entries of one stream, oldest first, after the given entry id. */
  entries(stream: string, options: { after?: string; count: number }): Promise<DeadLetterEntry[]>;
  /** Removes entries (after a successful replay); resolves with how many were removed. */
  remove(stream: string, ids: readonly string[]): Promise<number>;
}

/** Largest raw input kept per entry. */
export const MAX_RAW_BYTES = 16_384;
/** Entries kept per stream (approximately, on Redis). */
export const DEAD_LETTER_STREAM_LENGTH = 10_000;
/** How long a dead-letter stream lives after its last write: 7 days. Abandoned streams vanish. */
export const DEAD_LETTER_TTL_MS = 7 * 86_400_000;
/** Streams (`{org_id}:{type}`) one source may write within the TTL before it overflows (`DLQ_MAX_STREAMS_PER_SOURCE`). */
export const DEAD_LETTER_MAX_STREAMS_PER_SOURCE = 1_000;

/**
 * The stream a rejected event goes to: `{org_id}:{event_type}`, or `_unknown` when either is
 * unknown. The publisher passes the type only when the hub knows it (it has a schema and a route),
 * so input cannot create streams without bound.
 */
export function deadLetterStreamName(orgId: string | undefined, type: string | undefined): string {
  return orgId && type ? `${orgId}:${type}` : UNKNOWN_STREAM;
}

/** The one stream of input whose org or type is unknown; it does not count toward a source's streams. */
export const UNKNOWN_STREAM = "_unknown";

/**
 * The org part of a stream name, which groups streams: `42` of `42:roster.any`, `_overflow` of
 * `_overflow:http`, `_unknown` of `_unknown`. On Redis it is the hash tag of the group's keys (one
 * Redis Cluster slot per org).
 */
export function deadLetterOrg(stream: string): string {
  const colon = stream.indexOf(":");
  return colon < 0 ? stream : stream.slice(0, colon);
}

/**
 * Where a source's entries go once it has written `maxStreamsPerSource` streams within the TTL:
 * `_overflow:{source}`. Each entry keeps the `org_id` and `type` it named.
 */
export function overflowStreamName(source: IngestSource): string {
  return `_overflow:${source}`;
}

/** Stream names in code-unit order, handed out as far as a page asks. */
export interface StreamNames {
  /** Up to `count` further names; fewer only when there are no more. */
  next(count: number): Promise<string[]>;
}

/** The names of the sorted list `names` after `after`. */
export function sortedNamesAfter(names: readonly string[], after: string | undefined): StreamNames {
  let next = after === undefined ? 0 : names.findIndex((name) => name > after);
  if (next < 0) next = names.length;
  return {
    async next(count) {
      const batch = names.slice(next, next + count);
      next += batch.length;
      return batch;
    },
  };
}

/**
 * One page of `limit` streams from `names` (the names after the page's `after`), skipping streams
 * without entries: asks `lengths` for as many names at a time as the page still lacks.
 */
export async function pageOfStreams(
  names: StreamNames,
  limit: number,
  lengths: (names: string[]) => Promise<number[]>,
): Promise<DeadLetterStreamPage> {
  const streams: DeadLetterStreamInfo[] = [];
  let examined: string | undefined;
  let batch = await names.next(limit);
  while (streams.length < limit && batch.length > 0) {
    const counts = await lengths(batch);
    batch.forEach((stream, i) => {
      const length = counts[i] ?? 0;
      if (length > 0) streams.push({ stream, length });
    });
    examined = batch.at(-1);
    // A full page still asks for one more name: whether there is a next page.
    batch = await names.next(Math.max(limit - streams.length, 1));
  }
  return { streams, next: batch.length > 0 ? examined : undefined };
}

/** Cuts the raw input to `MAX_RAW_BYTES`. */
export function capRaw(raw: string): { raw: string; truncated: boolean } {
  if (raw.length <= MAX_RAW_BYTES / 4 || Buffer.byteLength(raw) <= MAX_RAW_BYTES) return { raw, truncated: false };
  // A streaming decoder drops a character cut in half instead of inventing a replacement for it.
  return { raw: new TextDecoder().decode(Buffer.from(raw).subarray(0, MAX_RAW_BYTES), { stream: true }), truncated: true };
}
