/** The prefix every Redis key and channel of a hub starts with. */
export const DEFAULT_KEY_PREFIX = "hub";

const PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/** Every Redis key and channel name the hub uses; nothing else builds key strings. */
export interface HubKeys {
  readonly prefix: string;
  /** Channel prefix shared by `@socket.io/redis-adapter` (gateways) and `@socket.io/redis-emitter` (producers). */
  readonly socketIo: string;
}

/**
 * Builds the key set of one hub. Several hubs can share a Redis by using different prefixes.
 *
 * @example
 * const keys = hubKeys("staging"); // keys.socketIo === "staging:sio"
 */
export function hubKeys(prefix: string = DEFAULT_KEY_PREFIX): HubKeys {
  if (!PREFIX.test(prefix)) throw new TypeError(`key prefix must match ${PREFIX}`);
  return { prefix, socketIo: `${prefix}:sio` };
}
