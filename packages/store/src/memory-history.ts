import type { Envelope, HistoryPolicy } from "@hub/events";
import { EMPTY_EPOCH, uuidv7 } from "@hub/events";
import { type History, type HistoryEntry, type StoredEntry, settleRead } from "./history.js";

/** How long a topic's epoch and counter outlive its last event, as in Redis (publishBatch-n.lua). */
const EPOCH_GRACE_MS = 24 * 60 * 60 * 1000;

interface TopicHistory {
  epoch: string;
  top: number;
  entries: StoredEntry[];
  /** Store-and-forward cursor, in this epoch. */
  cursor: number;
  /** The org of the topic's last event: the topic counts against that org's bound. */
  org: string;
  /** When the topic's epoch is forgotten, unless an event comes first (epoch ms). */
  expiresAt: number;
}

/**
 * The memory engine's per-topic history, in process: the same rules as the Redis one (offsets,
 * epochs, size and TTL windows, cursors, reads that write nothing). Bounded per org: an org keeps
 * at most `maxTopicsPerOrg` topics, and past it forgets the one it published on least recently, so
 * one tenant's traffic never evicts another's backlog. A topic is also forgotten once its epoch
 * expires (the namespace's TTL plus 24 hours after its last event, as in Redis); its next event
 * then starts a new epoch, which is what a client is told.
 */
export class MemoryHistory implements History {
  readonly #topics = new Map<string, TopicHistory>();
  /** Each org's topics, the least recently published first (a Set keeps insertion order). */
  readonly #byOrg = new Map<string, Set<string>>();

  /**
   * @param maxTopicsPerOrg topics kept per org at most @default 10000
   * @param now clock @default Date.now
   */
  constructor(
    private readonly maxTopicsPerOrg = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Gives the event the topic's next offset and keeps it; returns the envelope to broadcast. */
  append(topic: string, policy: HistoryPolicy, entry: HistoryEntry): Envelope {
    const now = this.now();
    const org = entry.envelope.org_id;
    let history = this.#live(topic, now);
    if (history) {
      this.#byOrg.get(history.org)?.delete(topic);
    } else {
      // Time and random bits (a UUIDv7's bits after the time are a counter, shared within a millisecond).
      const id = uuidv7().replaceAll("-", "");
      history = { epoch: id.slice(0, 12) + id.slice(-4), top: 0, entries: [], cursor: 0, org, expiresAt: 0 };
      this.#topics.set(topic, history);
    }
    history.org = org;
    history.expiresAt = now + policy.ttlMs + EPOCH_GRACE_MS;
    this.#remember(org, topic, now);

    const envelope = { ...entry.envelope, offset: ++history.top, epoch: history.epoch };
    history.entries.push({ clientEvent: entry.clientEvent, envelope, offset: history.top, addedAt: now });
    let drop = Math.max(0, history.entries.length - policy.size);
    while (drop < history.entries.length && now - (history.entries[drop] as StoredEntry).addedAt >= policy.ttlMs) drop++;
    if (drop > 0) history.entries.splice(0, drop);
    return envelope;
  }

  async read(topic: string, policy: HistoryPolicy, query: Parameters<History["read"]>[2]) {
    const now = this.now();
    const history = this.#live(topic, now);
    const since = query.since;
    // Seen before anything was published (the empty epoch, offset 0): every event of this epoch came after.
    const fromEmpty = since !== undefined && since.offset === 0 && since.epoch === EMPTY_EPOCH;
    if (!history) {
      return settleRead({ position: { epoch: EMPTY_EPOCH, offset: 0 }, sinceMatched: fromEmpty, entries: [] }, query, policy, now);
    }
    const matched = since !== undefined && since.offset >= 0 && (since.epoch === history.epoch || fromEmpty);
    const from = matched ? since.offset : query.fromCursor ? history.cursor : history.top;
    const entries = history.entries.filter((e) => e.offset > from);
    return settleRead({ position: { epoch: history.epoch, offset: history.top }, sinceMatched: matched, entries }, query, policy, now);
  }

  async acknowledge(topic: string, _policy: HistoryPolicy, offset: number, epoch?: string) {
    const history = this.#live(topic, this.now());
    if (!history) return 0;
    // Past the last offset given out it cannot be of this epoch: ignored, like a foreign epoch.
    if ((epoch === undefined || epoch === history.epoch) && offset <= history.top) history.cursor = Math.max(history.cursor, offset);
    return history.cursor;
  }

  /** The topic's history unless it has none or its epoch expired (then it is forgotten). */
  #live(topic: string, now: number): TopicHistory | undefined {
    const history = this.#topics.get(topic);
    if (!history || history.expiresAt > now) return history;
    this.#forget(topic, history);
    return undefined;
  }

  /** Records the topic as the org's most recently published; forgets expired and surplus topics of that org. */
  #remember(org: string, topic: string, now: number): void {
    let topics = this.#byOrg.get(org);
    if (!topics) {
      topics = new Set();
      this.#byOrg.set(org, topics);
    }
    topics.add(topic);
    for (const oldest of topics) {
      const history = this.#topics.get(oldest);
      const surplus = topics.size > this.maxTopicsPerOrg;
      if (!history || !(surplus || history.expiresAt <= now)) break;
      this.#forget(oldest, history);
    }
  }

  #forget(topic: string, history: TopicHistory): void {
    this.#topics.delete(topic);
    const topics = this.#byOrg.get(history.org);
    topics?.delete(topic);
    if (topics?.size === 0) this.#byOrg.delete(history.org);
  }
}
