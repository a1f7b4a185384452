import type { PresenceMember, PublishOk } from "@hub/events";
import type { ManagerOptions, SocketOptions } from "socket.io-client";
import type { HubCalls } from "./calls.js";
import type { HubError } from "./hub-error.js";
import type { HubHuddles } from "./huddles.js";
import type { SubscribeHandlers } from "./subscription-types.js";
import type { TypingIndicator, TypingOptions } from "./typing-indicator.js";

/** A token source: called for every handshake and before each expiry. */
export type GetToken = () => string | Promise<string>;

/** How the hub authenticates: a fixed token, or a source of fresh ones (which enables refresh). */
export type HubCredentials = { token: string; getToken?: never } | { getToken: GetToken; token?: never };

export interface HubOptions {
  /** The gateway (or load balancer) URL, e.g. `https://hub.example.com`. */
  url: string;
  /**
   * Passed to socket.io-client's `io()` as is (`transports`, `path`, `reconnectionDelay`,
   * `withCredentials`, ...). `auth` is the hub's own and cannot be set here.
   * @default { forceNew: true }
   */
  socketOptions?: Omit<Partial<ManagerOptions & SocketOptions>, "auth">;
  /**
   * How long a request (`subscribe`, `presence`, `ack`, ...) waits for its answer before failing
   * with `timeout`.
   * @default 10000
   */
  requestTimeoutMs?: number;
  /**
   * With `getToken`: how long before the token's `exp` a fresh one is sent (`auth.refresh`). For
   * short-lived tokens a third of the remaining lifetime is used when that is less.
   * @default 30000
   */
  refreshLeadMs?: number;
  /**
   * How many delivered envelopes (topic and `id`) are remembered to drop repeats.
   * @default 10000
   */
  dedupeSize?: number;
  /**
   * `autoAck`: quiet time after the last event of a burst before its one acknowledgement.
   * @default 200
   */
  autoAckDelayMs?: number;
  /**
   * How long `hub.publish` keeps trying, from the call: through disconnects, timeouts and transient
   * errors, always with the same id. Past it the promise rejects with `timeout`. At most 240000:
   * the hub remembers ids for 5 minutes, and a retry after that could be delivered twice.
   * @default 30000
   */
  publishTimeoutMs?: number;
  /**
   * Your user id, for your own topics that `hub.calls` (`webrtc:{user_id}`) and
   * `hub.huddles.on("huddle:invited")` (`notifications:{user_id}`) subscribe to.
   * @default the `sub` of the connection's token
   */
  userId?: string;
  /**
   * Ask the hub for batch frames: a topic's events that reach a gateway within one turn come in one
   * WebSocket frame (fewer frames and wake-ups for both sides). Unpacked here: handlers, ordering,
   * offsets and dedupe are the same either way.
   * @default true
   */
  coalesce?: boolean;
}

/** Options of {@link connectHub}. */
export type ConnectHubOptions = HubOptions & HubCredentials;

export type {
  ClientEventName,
  EnvelopeOf,
  HubEventArgs,
  SubscribedInfo,
  SubscribeHandlers,
  SubscriptionToken,
} from "./subscription-types.js";

/** Options of {@link Hub.publish}. */
export interface PublishOptions {
  /**
   * The publication's id (your message id): a publication with an id the topic saw within 5
   * minutes is acknowledged (`duplicate: true`) and not delivered again.
   * @default a fresh UUIDv7, picked once and kept by every retry
   */
  id?: string;
  /** A subscription token with `pub: true`. @default the token the topic was subscribed with */
  token?: string;
}

/** Events of the hub connection itself. */
export interface HubConnectionEvents {
  /** Connected: the first time and after every reconnect. */
  connect: () => void;
  /** Connected again after a disconnect; subscriptions are being resumed. */
  reconnect: () => void;
  /** The connection was lost (socket.io-client's reason, e.g. `"transport close"`). */
  disconnect: (reason: string) => void;
  /** A refused handshake, a failed token refresh, or an `error` event from the server. */
  error: (error: HubError) => void;
}

export interface Hub {
  /** Whether the connection is up right now. */
  readonly connected: boolean;
  /**
   * Resolves once connected (at once if already); rejects with the `HubError` of a refused handshake,
   * or `closed`.
   */
  ready(): Promise<void>;
  /**
   * Subscribes to a topic; several calls for one topic share one server subscription. Survives
   * reconnects: each topic is resubscribed from its last position, so missed events are replayed.
   * Returns the function that removes this subscriber.
   */
  subscribe(topic: string, handlers: SubscribeHandlers): () => void;
  /**
   * Store-and-forward: everything up to `offset` on your `notifications:{user_id}` topic was
   * processed (cumulative). Pass the envelope's `epoch`, so an offset from before a history loss is
   * not applied to the new history (default: the topic's current epoch as this client knows it).
   * Resolves with the cursor the hub now keeps.
   */
  ack(topic: string, offset: number, epoch?: string): Promise<number>;
  /**
   * Publishes a client event on a topic whose namespace declares it (`message:send` on `chat:`).
   * Resolves with the ack once the hub took it (a durable event: in the topic's history, with
   * `offset` and `epoch`). Transient failures (`timeout`, a disconnect before the ack,
   * `unavailable`, `internal`, `rate_limited` after its `retry_after_ms`) are retried with the same
   * id until `publishTimeoutMs`, so the hub delivers it once; other codes (`forbidden`,
   * `unknown_event`, `invalid_event`, ...) reject at once with a `HubError`.
   */
  publish(topic: string, event: string, data: Record<string, unknown>, options?: PublishOptions): Promise<PublishOk>;
  /**
   * A typing indicator for one composer on a chat topic: `start()` on every keystroke sends
   * `typing:start` at most once per `throttleMs`, and `typing:stop` follows after `idleMs` without
   * a keystroke or on `stop()`. Ephemeral: one attempt, never retried, not sent while disconnected;
   * the other users see it, the sender's other tabs do not.
   */
  typing(topic: string, options?: TypingOptions): TypingIndicator;
  /** Who is on a topic of a namespace with presence (`org:`, `inhouse:`), cluster-wide. */
  presence(topic: string): Promise<PresenceMember[]>;
  /** Inhouse queue commands for yourself, on your org's queues; each resolves with the command id. */
  readonly inhouse: {
    join(queueId: string): Promise<string>;
    leave(queueId: string): Promise<string>;
    checkIn(queueId: string): Promise<string>;
  };
  /** One-to-one calls: requests, WebRTC signalling through the hub, and listeners on your `webrtc:` topic. */
  readonly calls: HubCalls;
  /** Huddles (group rooms): join, leave, toggles, messages; rejoined by themselves after a reconnect. */
  readonly huddles: HubHuddles;
  /** Listens to connection events; returns the function that stops listening. */
  on<E extends keyof HubConnectionEvents>(event: E, listener: HubConnectionEvents[E]): () => void;
  /** Disconnects for good: clears every timer, sends pending automatic acks, drops every subscription. */
  close(): void;
}
