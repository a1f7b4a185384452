import {
  DEAD_LETTER_STREAM_LENGTH,
  DEAD_LETTER_TTL_MS,
  type DeadLetterEntry,
  type DeadLetters,
  deadLetterStreamName,
} from "./dead-letters.js";
import { RecentIds } from "./recent-ids.js";

export interface MemoryDeadLettersOptions {
  /** Entries kept per stream, oldest dropped first. @default DEAD_LETTER_STREAM_LENGTH (10,000) */
  maxLength?: number;
  /** How long a stream is kept after its last write. @default DEAD_LETTER_TTL_MS (7 days) */
  ttlMs?: number;
  /** Streams kept at once; a new one beyond it drops the stream written longest ago. @default 1,000 */
  maxStreams?: number;
  /** @default Date.now */
  now?: () => number;
}

interface Stream {
  entries: DeadLetterEntry[];
  writtenAt: number;
}

/**
 * The dead-letter queue of the memory engine: the same streams, kept in process, bounded in entries
 * per stream, in streams, and in time (a stream goes 7 days after its last write, as on Redis).
 * A number argument is `maxLength`.
 */
export function memoryDeadLetters(options: number | MemoryDeadLettersOptions = {}): DeadLetters {
  const {
    maxLength = DEAD_LETTER_STREAM_LENGTH,
    ttlMs = DEAD_LETTER_TTL_MS,
    maxStreams = 1_000,
    now = Date.now,
  } = typeof options === "number" ? { maxLength: options } : options;
  // Insertion order is write order: a write moves its stream to the end.
  const streams = new Map<string, Stream>();
  const seen = new RecentIds(5 * 60_000, 10_000);
  let sequence = 0;

  /** Drops streams past their lifetime (the least recently written come first). */
  function expire(at: number): void {
    for (const [name, stream] of streams) {
      if (at - stream.writtenAt < ttlMs) break;
      streams.delete(name);
    }
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
      const name = letter.stream ?? deadLetterStreamName(letter.orgId, letter.type);
      const stream = streams.get(name) ?? { entries: [], writtenAt: at };
      streams.delete(name);
      if (streams.size >= maxStreams) streams.delete(streams.keys().next().value as string);
      streams.set(name, stream);
      stream.writtenAt = at;
      const { stream: _, ...fields } = letter;
      stream.entries.push({ ...fields, id: `${letter.receivedAt}-${sequence++}`, stream: name });
      if (stream.entries.length > maxLength) stream.entries.splice(0, stream.entries.length - maxLength);
      return true;
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
