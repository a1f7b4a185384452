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

/** The dead-letter queue: per-org, per-type streams of rejected events, each capped in length. */
export interface DeadLetters {
  /**
   * Records a rejected event. With a fingerprint, the same input is recorded once however many
   * nodes reject it (the legacy channel reaches every gateway): resolves `false` when it already was.
   */
  append(letter: DeadLetter, fingerprint?: string): Promise<boolean>;
  /** Every stream that holds entries. */
  streams(): Promise<DeadLetterStreamInfo[]>;
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

/**
 * The stream a rejected event goes to: `{org_id}:{event_type}`, or `_unknown` when either is
 * unknown. The publisher passes the type only when the hub knows it (it has a schema and a route),
 * so input cannot create streams without bound.
 */
export function deadLetterStreamName(orgId: string | undefined, type: string | undefined): string {
  return orgId && type ? `${orgId}:${type}` : "_unknown";
}

/** Cuts the raw input to `MAX_RAW_BYTES`. */
export function capRaw(raw: string): { raw: string; truncated: boolean } {
  if (raw.length <= MAX_RAW_BYTES / 4 || Buffer.byteLength(raw) <= MAX_RAW_BYTES) return { raw, truncated: false };
  // A streaming decoder drops a character cut in half instead of inventing a replacement for it.
  return { raw: new TextDecoder().decode(Buffer.from(raw).subarray(0, MAX_RAW_BYTES), { stream: true }), truncated: true };
}
