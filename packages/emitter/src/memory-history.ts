import type { Envelope, HistoryPolicy } from "@hub/events";
import { uuidv7 } from "@hub/events";
import { type History, type HistoryEntry, type StoredEntry, settleRead } from "./history.js";

interface TopicHistory {
  epoch: string;
  top: number;
  entries: StoredEntry[];
  /** Store-and-forward cursor, in this epoch. */
  cursor: number;
}

/**
 * The memory engine's per-topic history, in process: the same rules as the Redis one (offsets,
 * epochs, size and TTL windows, cursors). Bounded: past `maxTopics` the least recently used topic
 * is forgotten, and its next event starts a new epoch, which is what a client is told.
 */
export class MemoryHistory implements History {
  readonly #topics = new Map<string, TopicHistory>();

  /**
   * @param maxTopics topics kept at most @default 10000
   * @param now clock @default Date.now
   */
  constructor(
    private readonly maxTopics = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Gives the event the topic's next offset and keeps it; returns the envelope to broadcast. */
  append(topic: string, policy: HistoryPolicy, entry: HistoryEntry): Envelope {
    const history = this.#touch(topic);
    const envelope = { ...entry.envelope, offset: ++history.top, epoch: history.epoch };
    const now = this.now();
    history.entries.push({ clientEvent: entry.clientEvent, envelope, offset: history.top, addedAt: now });
    let drop = Math.max(0, history.entries.length - policy.size);
    while (drop < history.entries.length && now - (history.entries[drop] as StoredEntry).addedAt >= policy.ttlMs) drop++;
    if (drop > 0) history.entries.splice(0, drop);
    return envelope;
  }

  async read(topic: string, policy: HistoryPolicy, query: Parameters<History["read"]>[2]) {
    const history = this.#touch(topic);
    const since = query.since;
    const matched = since !== undefined && since.offset >= 0 && since.epoch === history.epoch;
    const from = matched ? since.offset : query.fromCursor ? history.cursor : history.top;
    const entries = history.entries.filter((e) => e.offset > from);
    return settleRead(
      { position: { epoch: history.epoch, offset: history.top }, sinceMatched: matched, entries },
      query,
      policy,
      this.now(),
    );
  }

  async acknowledge(topic: string, _policy: HistoryPolicy, offset: number, epoch?: string) {
    const history = this.#topics.get(topic);
    if (!history) return 0;
    // Past the last offset given out it cannot be of this epoch: ignored, like a foreign epoch.
    if ((epoch === undefined || epoch === history.epoch) && offset <= history.top) history.cursor = Math.max(history.cursor, offset);
    return history.cursor;
  }

  #touch(topic: string): TopicHistory {
    let history = this.#topics.get(topic);
    if (history) {
      this.#topics.delete(topic);
    } else {
      // Time and random bits (a UUIDv7's bits after the time are a counter, shared within a millisecond).
      const id = uuidv7().replaceAll("-", "");
      history = { epoch: id.slice(0, 12) + id.slice(-4), top: 0, entries: [], cursor: 0 };
      if (this.#topics.size >= this.maxTopics) this.#topics.delete(this.#topics.keys().next().value as string);
    }
    this.#topics.set(topic, history);
    return history;
  }
}
