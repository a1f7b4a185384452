import { DEAD_LETTER_STREAM_LENGTH, type DeadLetterEntry, type DeadLetters, deadLetterStreamName } from "./dead-letters.js";
import { RecentIds } from "./recent-ids.js";

/** The dead-letter queue of the memory engine: the same streams, kept in process. */
export function memoryDeadLetters(maxLength: number = DEAD_LETTER_STREAM_LENGTH): DeadLetters {
  const streams = new Map<string, DeadLetterEntry[]>();
  const seen = new RecentIds(5 * 60_000, 10_000);
  let sequence = 0;
  return {
    async append(letter, fingerprint) {
      if (fingerprint !== undefined && !seen.claim(fingerprint)) return;
      const stream = deadLetterStreamName(letter.orgId, letter.type);
      const entries = streams.get(stream) ?? [];
      streams.set(stream, entries);
      entries.push({ ...letter, id: `${letter.receivedAt}-${sequence++}`, stream });
      if (entries.length > maxLength) entries.splice(0, entries.length - maxLength);
    },
    async streams() {
      return [...streams]
        .filter(([, entries]) => entries.length > 0)
        .map(([stream, entries]) => ({ stream, length: entries.length }))
        .sort((a, b) => a.stream.localeCompare(b.stream));
    },
    async entries(stream, { after, count }) {
      const entries = streams.get(stream) ?? [];
      const start = after === undefined ? 0 : entries.findIndex((e) => e.id === after) + 1;
      return entries.slice(start, start + count);
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
