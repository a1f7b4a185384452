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
  sortedNamesAfter,
  UNKNOWN_STREAM,
} from "./dead-letters.js";
import { RecentIds } from "./recent-ids.js";

export interface MemoryDeadLettersOptions {
  /** Entries kept per stream, oldest dropped first. @default DEAD_LETTER_STREAM_LENGTH (10,000) */
  maxLength?: number;
  /** How long a stream is kept after its last write. @default DEAD_LETTER_TTL_MS (7 days) */
  ttlMs?: number;
  /**
   * Streams one source may write within `ttlMs`; its entries for any other stream go to
   * `overflowStreamName(source)`, as on Redis. `_unknown` does not count. @default DEAD_LETTER_MAX_STREAMS_PER_SOURCE (1,000)
   */
  maxStreamsPerSource?: number;
  /** @default Date.now */
  now?: () => number;
}

interface Stream {
  entries: DeadLetterEntry[];
  writtenAt: number;
}

/**
 * The dead-letter queue of the memory engine: the same streams, kept in process, bounded in entries
 * per stream, in streams per source (then its overflow stream), and in time (a stream goes 7 days
 * after its last write, as on Redis). A number argument is `maxLength`.
 */
export function memoryDeadLetters(options: number | MemoryDeadLettersOptions = {}): DeadLetters {
  const {
    maxLength = DEAD_LETTER_STREAM_LENGTH,
    ttlMs = DEAD_LETTER_TTL_MS,
    maxStreamsPerSource = DEAD_LETTER_MAX_STREAMS_PER_SOURCE,
    now = Date.now,
  } = typeof options === "number" ? { maxLength: options } : options;
  // Insertion order is write order: a write moves its stream to the end.
  const streams = new Map<string, Stream>();
  // Per source, the streams it wrote and when it last did, in that order too.
  const bySource = new Map<IngestSource, Map<string, number>>();
  const seen = new RecentIds(5 * 60_000, 10_000);
  let sequence = 0;

  /** Drops streams past their lifetime (the least recently written come first). */
  function expire(at: number): void {
    for (const [name, stream] of streams) {
      if (at - stream.writtenAt < ttlMs) break;
      streams.delete(name);
    }
  }

  /** The stream a letter of `source` for `name` goes to: its own, or the overflow past the cap. */
  function place(source: IngestSource, name: string, at: number): string {
    if (name === UNKNOWN_STREAM) return name;
    const written = bySource.get(source) ?? new Map<string, number>();
    bySource.set(source, written);
    for (const [stream, writtenAt] of written) {
      if (at - writtenAt < ttlMs) break;
      written.delete(stream);
    }
    if (!written.has(name) && written.size >= maxStreamsPerSource) return overflowStreamName(source);
    written.delete(name);
    written.set(name, at);
    return name;
  }

  const live = (name: string): Stream | undefined => {
    expire(now());
    return streams.get(name);
  };

  return {
    async append(letter, fingerprint) {
      if (fingerprint !== undefined && !seen.claim(fingerprint)) return false;
      const at = now();
      expire(at);
      const own = letter.stream ?? deadLetterStreamName(letter.orgId, letter.type);
      const name = place(letter.source, own, at);
      const stream = streams.get(name) ?? { entries: [], writtenAt: at };
      streams.delete(name);
      streams.set(name, stream);
      stream.writtenAt = at;
      const { stream: _, ...fields } = letter;
      stream.entries.push({ ...fields, id: `${letter.receivedAt}-${sequence++}`, stream: name });
      if (stream.entries.length > maxLength) stream.entries.splice(0, stream.entries.length - maxLength);
      return { stream: name, overflow: name !== own };
    },
    async streams() {
      expire(now());
      return (
        [...streams]
          .filter(([, s]) => s.entries.length > 0)
          .map(([stream, s]) => ({ stream, length: s.entries.length }))
          // Code-unit order, as the Redis engine sorts.
          .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))
      );
    },
    async streamPage(page) {
      expire(now());
      const names = [...streams.keys()].sort();
      return pageOfStreams(sortedNamesAfter(names, page.after), page.limit, async (batch) =>
        batch.map((name) => streams.get(name)?.entries.length ?? 0),
      );
    },
    async entries(name, { after, count }) {
      const entries = live(name)?.entries ?? [];
      const later = after === undefined ? entries : entries.filter((e) => compareIds(e.id, after) > 0);
      return later.slice(0, count);
    },
    async remove(name, ids) {
      const stream = live(name);
      if (!stream) return 0;
      const drop = new Set(ids);
      const before = stream.entries.length;
      stream.entries = stream.entries.filter((e) => !drop.has(e.id));
      return before - stream.entries.length;
    },
  };
}

/** Orders entry ids `{ms}-{seq}` as Redis orders stream ids. */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}
