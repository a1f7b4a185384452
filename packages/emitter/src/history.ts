import { randomBytes } from "node:crypto";
import type { Envelope, HistoryPolicy, StreamPosition } from "@hub/events";

/** One event kept in a topic's history, as it was broadcast. */
export interface HistoryEntry {
  clientEvent: string;
  /** Carries `offset` and `epoch`. */
  envelope: Envelope;
}

/** What a subscriber asks of a topic's history. */
export interface HistoryQuery {
  /** Where the client left off: replay what came after, if the window still holds it. */
  since?: StreamPosition;
  /**
   * Store-and-forward: when `since` cannot be used (absent, another epoch, out of the window),
   * deliver everything after the topic's acknowledged cursor, or the whole window without one.
   * @default false
   */
  fromCursor?: boolean;
}

export interface HistoryRead {
  /** The topic's epoch and last offset at the time of the read. */
  position: StreamPosition;
  /** Present when `since` was given: whether every event after it is in `entries`. */
  recovered: boolean | undefined;
  /** What to deliver before going live, oldest first. */
  entries: HistoryEntry[];
}

/**
 * Per-topic history for recovery and store-and-forward. Writing happens in the event sink, in the
 * same atomic step that dedupes and broadcasts, so offsets follow the live order.
 */
export interface History {
  /** Reads the topic's position and, as the query asks, the entries to replay. */
  read(topic: string, policy: HistoryPolicy, query: HistoryQuery): Promise<HistoryRead>;
  /**
   * Moves the topic's store-and-forward cursor up to `offset` (never back; clamped to the last
   * offset given out). With `epoch`, an acknowledgement from another epoch is ignored. Resolves
   * with the cursor kept.
   */
  acknowledge(topic: string, policy: HistoryPolicy, offset: number, epoch?: string): Promise<number>;
}

/** How long a topic's epoch and offset counter outlive its last event. */
export const HISTORY_META_GRACE_MS = 24 * 60 * 60_000;

/** An entry as a store returns it, with the time it was added. */
export interface StoredEntry extends HistoryEntry {
  offset: number;
  addedAt: number;
}

/** A store's raw answer to a query, before the window rules are applied. */
export interface RawRead {
  position: StreamPosition;
  /** Whether `since` was of the current epoch. */
  sinceMatched: boolean;
  /** The entries after the read's starting offset, oldest first. */
  entries: StoredEntry[];
}

/**
 * Applies the window rules both stores share: entries older than the TTL are gone; `since` is
 * recovered when every event after it is still there; without recovery only store-and-forward
 * reads deliver anything.
 */
export function settleRead(raw: RawRead, query: HistoryQuery, policy: HistoryPolicy, now: number): HistoryRead {
  const kept = raw.entries.filter((e) => now - e.addedAt < policy.ttlMs);
  const since = query.since;
  let recovered: boolean | undefined;
  if (since !== undefined) {
    const top = raw.position.offset;
    recovered = raw.sinceMatched && (since.offset === top || (since.offset < top && kept[0]?.offset === since.offset + 1));
  }
  const deliver = recovered === true || query.fromCursor === true;
  return {
    position: raw.position,
    recovered,
    entries: deliver ? kept.map(({ clientEvent, envelope }) => ({ clientEvent, envelope })) : [],
  };
}

/**
 * The 3 characters that end the epochs a process creates (the scripts take the rest from Redis's
 * clock), so two processes creating an epoch in the same microsecond still differ.
 */
export function epochSalt(): string {
  return randomBytes(2).toString("hex").slice(0, 3);
}
