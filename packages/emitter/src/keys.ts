/** The prefix every Redis key and channel of a hub starts with. */
export const DEFAULT_KEY_PREFIX = "hub";

const PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/** Every Redis key and channel name the hub uses; nothing else builds key strings. */
export interface HubKeys {
  readonly prefix: string;
  /** Channel prefix shared by `@socket.io/redis-adapter` (gateways) and `@socket.io/redis-emitter` (producers). */
  readonly socketIo: string;
  /** Marks an event id as delivered for the dedupe window. */
  dedupe(eventId: string): string;
  /** Dead-letter stream by name (see `deadLetterStreamName`): `<prefix>:dlq:{org_id}:{event_type}`. */
  deadLetters(stream: string): string;
  /** Set of every dead-letter stream name that has entries. */
  readonly deadLetterIndex: string;
  /** Marks a rejected input as dead-lettered, so several nodes seeing it append it once. */
  deadLetterSeen(fingerprint: string): string;
}

/**
 * Builds the key set of one hub. Several hubs can share a Redis by using different prefixes.
 *
 * @example
 * const keys = hubKeys("staging"); // keys.socketIo === "staging:sio"
 */
export function hubKeys(prefix: string = DEFAULT_KEY_PREFIX): HubKeys {
  if (!PREFIX.test(prefix)) throw new TypeError(`key prefix must match ${PREFIX}`);
  return {
    prefix,
    socketIo: `${prefix}:sio`,
    dedupe: (eventId) => `${prefix}:dedupe:${eventId}`,
    deadLetters: (stream) => `${prefix}:dlq:${stream}`,
    deadLetterIndex: `${prefix}:dlq-index`,
    deadLetterSeen: (fingerprint) => `${prefix}:dlq-seen:${fingerprint}`,
  };
}
