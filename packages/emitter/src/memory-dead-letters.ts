import { DEAD_LETTER_STREAM_LENGTH, type DeadLetterEntry, type DeadLetters, deadLetterStreamName } from "./dead-letters.js";
import { RecentIds } from "./recent-ids.js";

/** The dead-letter queue of the memory engine: the same streams, kept in process. */
export function memoryDeadLetters(maxLength: number = DEAD_LETTER_STREAM_LENGTH): DeadLetters {
  const streams = new Map<string, DeadLetterEntry[]>();
  const seen = new RecentIds(5 * 60_000, 10_000);
  let sequence = 0;
  return {
    async append(letter, fingerprint) {
      if (fingerprint !== undefined && !seen.claim(fingerprint)) return false;
      const stream = deadLetterStreamName(letter.orgId, letter.type);
      const entries = streams.get(stream) ?? [];
      streams.set(stream, entries);
      entries.push({ ...letter, id: `${letter.receivedAt}-${sequence++}`, stream });
      if (entries.length > maxLength) entries.splice(0, entries.length - maxLength);
      return true;
    },
    async streams() {
      return [...streams]
        .filter(([, entries]) => entries.length > 0)
        .map(([stream, entries]) => ({ stream, length: entries.length }))
        .sort((a, b) => a.stream.localeCompare(b.stream));
    },
    async entries(stream, { after, count }) {
      const entries = streams.get(stream) ?? [];
      const later = after === undefined ? entries : entries.filter((e) => compareIds(e.id, after) > 0);
      return later.slice(0, count);
    },
    async remove(stream, ids) {
      const entries = streams.get(stream);
      if (!entries) return 0;
      const drop = new Set(ids);
      const kept = entries.filter((e) => !drop.has(e.id));
      streams.set(stream, kept);
      return entries.length - kept.length;
    },
  };
}

/** Orders entry ids `{ms}-{seq}` as Redis orders stream ids. */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}
