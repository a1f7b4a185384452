import type { ServerToClientEvents, StreamPosition } from "@hub/events";
import type { HubError } from "./hub-error.js";

/** Client events: everything the server sends on a topic (not `error`, not `auth.expired`). */
export type ClientEventName = Exclude<keyof ServerToClientEvents & string, "error" | "auth.expired" | "resync" | "batch">;

/** The envelope type of one client event, e.g. `Envelope<MatchData>` for `match_confirmed`. */
export type EnvelopeOf<E extends ClientEventName> = Parameters<ServerToClientEvents[E]>[0];

/**
 * `onEvent`'s arguments: checking the event name narrows the envelope.
 *
 * @example
 * onEvent: (event, envelope) => {
 *   if (event === "match_confirmed") render(envelope.data.match);
 * }
 */
export type HubEventArgs = { [E in ClientEventName]: [event: E, envelope: EnvelopeOf<E>] }[ClientEventName];

/** What a subscription is told each time the server confirms it (first subscribe and after every reconnect). */
export interface SubscribedInfo {
  topic: string;
  /** Present on resubscribes with a known position: whether every missed event was replayed. */
  recovered?: boolean;
  /** The topic's position after the subscribe, on topics with history. */
  position?: StreamPosition;
}

/**
 * A subscription token (a JWT your backend grants for one topic, `authorize: "grant"` namespaces
 * such as `chat:`), or a source of fresh ones, asked on every (re)subscribe.
 */
export type SubscriptionToken = string | (() => string | Promise<string>);

export interface SubscribeHandlers {
  /**
   * On a namespace with `authorize: "grant"` (`chat:{conversation_id}`): the subscription token,
   * sent with the subscribe and with every resubscribe after a reconnect; also the default token of
   * `publish` and `typing` on the topic.
   */
  token?: SubscriptionToken;
  /** Every client event delivered on the topic, once (repeats are dropped by envelope `id`). */
  onEvent: (...args: HubEventArgs) => unknown;
  /**
   * A resubscribe after a reconnect could not replay what was missed (history trimmed, expired, or
   * lost: a new epoch). Live delivery goes on; rehydrate the topic's state from your backend.
   */
  onRecoveryFailed?: (topic: string) => void;
  /**
   * The subscribe (or an automatic acknowledgement) failed. Transient codes (`timeout`,
   * `unavailable`, `rate_limited`, `internal`) are retried; after any other code the subscription is
   * dropped.
   */
  onError?: (error: HubError) => void;
  /** The server confirmed the subscription (again, after a reconnect). */
  onSubscribed?: (info: SubscribedInfo) => void;
  /**
   * Store-and-forward (`notifications:{user_id}`): acknowledge each event once `onEvent` returned
   * (and, when it returns a promise, once that resolved), in order, cumulatively, one `ack` per
   * burst. A handler that throws or rejects stops automatic acks on the topic for this hub: the
   * events from the failed one on stay unacknowledged, so the next subscribe without a position
   * (the next start of the app, another device) delivers them again.
   * @default false
   */
  autoAck?: boolean;
}
