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
   * Moves the topic's store-and-forward cursor up to `offset` (never back). An offset past the last
   * one given out, or (with `epoch`) of another epoch, is ignored. Resolves with the cursor kept.
   */
  acknowledge(topic: string, policy: HistoryPolicy, offset: number, epoch?: string): Promise<number>;
}

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
 * Applies the window rules both stores share: the oldest entries, once older than the TTL, are gone
 * (only a leading run, so a replay never has a hole in it); `since` is recovered when every event
 * after it is still there; without recovery only store-and-forward reads deliver anything. `now`
 * must be on the clock the entries' `addedAt` were taken with.
 */
export function settleRead(raw: RawRead, query: HistoryQuery, policy: HistoryPolicy, now: number): HistoryRead {
  let expired = 0;
  while (expired < raw.entries.length && now - (raw.entries[expired] as StoredEntry).addedAt >= policy.ttlMs) expired++;
  const kept = raw.entries.slice(expired);
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
