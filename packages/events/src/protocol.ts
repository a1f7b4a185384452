import type { Envelope } from "./envelope.js";
import type { ErrorBody } from "./hub-error.js";
import type { CallEvents, HuddleEvents, RtcRequests } from "./rtc-protocol.js";

/** Where a client left off on a topic with history. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/**
 * The epoch of a topic with history that nobody has published on yet: reading a topic creates
 * nothing, its epoch is made by its first publish. `since: { offset: 0, epoch: EMPTY_EPOCH }`
 * recovers every event of the epoch that publish creates, as long as they are in the window.
 */
export const EMPTY_EPOCH = "0";

export interface SubscribeRequest {
  topic: string;
  since?: StreamPosition;
  /**
   * For a service on a topic of a user-scoped namespace (`notifications:{user_id}`): the user's org.
   * A user id is only unique within its org; users subscribe to their own org's topic.
   */
  org_id?: string;
  /**
   * On a namespace with `authorize: "grant"`: a subscription token, a JWT with claims `sub` (the
   * connection's), `topic` (this one), `exp`, optional `org_id` (the connection's) and `pub`.
   */
  token?: string;
}

export interface SubscribeOk {
  ok: true;
  topic: string;
  /** Present when `since` was given: whether every missed event was replayed. */
  recovered?: boolean;
  /**
   * The topic's history epoch; `""` on a topic without history (no position to recover from),
   * `EMPTY_EPOCH` on a topic with history nobody has published on yet.
   */
  epoch?: string;
  /** The topic's latest offset; `0` on a topic without history. */
  offset?: number;
}

export interface UnsubscribeRequest {
  topic: string;
}

export interface UnsubscribeOk {
  ok: true;
  topic: string;
}

/** Store-and-forward: everything up to `offset` on the topic was processed. */
export interface AckRequest {
  topic: string;
  offset: number;
  /** The epoch of `offset`; send it, so an acknowledgement from before a history loss is ignored. */
  epoch?: string;
}

export interface AckOk {
  ok: true;
  topic: string;
  /** The cursor now kept for the topic (acknowledgements never move it back). */
  offset: number;
}

export interface PresenceRequest {
  topic: string;
}

/** One user present on a topic, over all of their connections in the cluster. */
export interface PresenceMember {
  user_id: string;
  /** How many of the user's connections are subscribed to the topic. */
  connections: number;
  /** When the user became present (their first connection since they last had none), epoch ms. */
  joined_at: number;
  /**
   * The metadata of the user's most recently updated connection on the topic (`presence.update`);
   * absent while none of their connections set any.
   */
  meta?: PresenceMeta;
}

/** A connection's presence metadata on a topic: a JSON object of at most 1 KiB (`device`, `focus`, `audio`, `video`, `screen`, ...). */
export type PresenceMeta = Record<string, unknown>;

/** `presence.update { topic, meta }`: sets this connection's metadata on a topic it is present on. */
export interface PresenceUpdateRequest {
  topic: string;
  meta: PresenceMeta;
}

export interface PresenceUpdateOk {
  ok: true;
  topic: string;
  /** False when the metadata was already this (nothing was announced). */
  changed: boolean;
}

/** `data` of `presence.update` (`user:presence` on chat): the user's metadata on the topic is now `meta`. */
export interface PresenceMetaChange {
  user_id: string;
  meta: PresenceMeta;
}

export interface PresenceOk {
  ok: true;
  topic: string;
  users: PresenceMember[];
}

/** `data` of `presence.join` and `presence.leave`. */
export interface PresenceChange {
  user_id: string;
  /** On `presence.join`: when the user's first connection joined. */
  joined_at?: number;
}

export interface AuthRefreshRequest {
  token: string;
}

export interface AuthRefreshOk {
  ok: true;
  /** The new expiry, epoch seconds. */
  exp: number;
}

import type { Ack, Failure } from "./ack.js";

export type { Ack, Failure } from "./ack.js";

/** Events a client may send; each takes an acknowledgement callback. */
export interface ClientToServerEvents extends RtcRequests {
  subscribe: (req: SubscribeRequest, ack?: Ack<SubscribeOk>) => void;
  unsubscribe: (req: UnsubscribeRequest, ack?: Ack<UnsubscribeOk>) => void;
  "auth.refresh": (req: AuthRefreshRequest, ack?: Ack<AuthRefreshOk>) => void;
  /** Store-and-forward acknowledgement on one's own `notifications:{user_id}` topic. */
  ack: (req: AckRequest, ack?: Ack<AckOk>) => void;
  /** Who is on a topic of a namespace with presence, cluster-wide. */
  presence: (req: PresenceRequest, ack?: Ack<PresenceOk>) => void;
  /** Sets this connection's metadata on a topic it is present on; members see it cluster-wide. */
  "presence.update": (req: PresenceUpdateRequest, ack?: Ack<PresenceUpdateOk>) => void;
  /** Join an inhouse queue of one's org, as oneself; acknowledged once the command is durable. */
  "inhouse.join": (req: InhouseRequest, ack?: Ack<InhouseOk>) => void;
  "inhouse.leave": (req: InhouseRequest, ack?: Ack<InhouseOk>) => void;
  "inhouse.check_in": (req: InhouseRequest, ack?: Ack<InhouseOk>) => void;
  /** A client publication on a topic whose namespace declares the event. */
  publish: (req: PublishRequest, ack?: Ack<PublishOk>) => void;
}

/** The name of a request a client may send. */
export type RequestName = keyof ClientToServerEvents;

/** What a typed client sends with a request (the server accepts a little more: `RequestOf`). */
export type PayloadOf<E extends RequestName> = Parameters<ClientToServerEvents[E]>[0];

/** The success shape of a request's acknowledgement: what its server handler answers, what the client SDK resolves with. */
export type ReplyOf<E extends RequestName> = Exclude<Parameters<NonNullable<Parameters<ClientToServerEvents[E]>[1]>>[0], Failure>;

/** `publish { topic, event, data, id?, token? }`: a client publication (docs/protocol.md "Client publications"). */
export interface PublishRequest {
  topic: string;
  /** One of the client events the topic's namespace declares (`message:send`). */
  event: string;
  /** A JSON object, checked against the event's schema. */
  data: Record<string, unknown>;
  /** For idempotent retries: a publication with an id seen on the topic within 5 minutes is not delivered again. @default a fresh UUIDv7 */
  id?: string;
  /** A subscription token with `pub: true`, on a namespace with `authorize: "grant"`. */
  token?: string;
  /** For a service: the org of a per-org topic. */
  org_id?: string;
}

export interface PublishOk {
  ok: true;
  /** The publication's id: the client's, or the one the hub gave it. */
  id: string;
  /** A durable publication's offset in the topic's history. */
  offset?: number;
  /** The epoch of `offset`. */
  epoch?: string;
  /** True when the id was already published on the topic within 5 minutes: accepted, not delivered again. */
  duplicate?: boolean;
}

export interface InhouseRequest {
  queue_id: string;
}

export interface InhouseOk {
  ok: true;
  /** The command's id; the outcome arrives as `queue_updated` on `inhouse:{org_id}`. */
  id: string;
}

/** Data of the seed's client events. */
export interface NotificationCreatedData {
  notification: Record<string, unknown>;
}
export interface MatchData {
  match: Record<string, unknown>;
}

type FamilyEvents = {
  [K in `${"scrim_request" | "team_goal" | "player" | "roster" | "match" | "staff"}.${string}`]: (
    msg: Envelope<Record<string, unknown>>,
  ) => void;
};

/** `data` of `message:edited`, `message:deleted`, reactions and read marks: the message it is about. */
export interface MessageRef {
  message_id: string;
}

/** Seed 003's chat events as `chat:{conversation_id}` delivers them (the sender is the envelope's `sender_id`). */
export interface ChatEvents {
  "message:new": (msg: Envelope<{ text?: string; type?: string; attachments?: unknown[]; reply_to?: string }>) => void;
  "message:edited": (msg: Envelope<MessageRef & { text: string }>) => void;
  "message:deleted": (msg: Envelope<MessageRef>) => void;
  "message:reaction:added": (msg: Envelope<MessageRef & { emoji: string }>) => void;
  "message:reaction:removed": (msg: Envelope<MessageRef & { emoji: string }>) => void;
  "message:read": (msg: Envelope<MessageRef>) => void;
  "typing:start": (msg: Envelope<Record<string, never>>) => void;
  "typing:stop": (msg: Envelope<Record<string, never>>) => void;
  /** A user's first connection subscribed to the conversation (presence, seed 003's name). */
  "user:online": (msg: Envelope<PresenceChange>) => void;
  /** A user's last connection left the conversation. */
  "user:offline": (msg: Envelope<PresenceChange>) => void;
  /** A user's presence metadata on the conversation changed (`presence.update` under chat's names). */
  "user:presence": (msg: Envelope<PresenceMetaChange>) => void;
}

/** Events the hub sends to clients. */
export interface ServerToClientEvents extends FamilyEvents, ChatEvents, CallEvents, HuddleEvents {
  "notification.created": (msg: Envelope<NotificationCreatedData>) => void;
  match_confirmed: (msg: Envelope<MatchData>) => void;
  match_walkover: (msg: Envelope<MatchData>) => void;
  queue_updated: (msg: Envelope<{ queue: Record<string, unknown> }>) => void;
  check_in_expired: (msg: Envelope<{ queue: Record<string, unknown>; removed: string[] }>) => void;
  session_started: (msg: Envelope<{ queue: Record<string, unknown> }>) => void;
  /** A user's first connection subscribed to the topic. */
  "presence.join": (msg: Envelope<PresenceChange>) => void;
  /** A user's last connection left the topic (unsubscribed, disconnected, or its gateway died). */
  "presence.leave": (msg: Envelope<PresenceChange>) => void;
  /** A user's presence metadata on the topic changed (a connection of theirs sent `presence.update`). */
  "presence.update": (msg: Envelope<PresenceMetaChange>) => void;
  /** A request sent without an acknowledgement callback failed. */
  error: (err: ErrorBody) => void;
  /** The token expired and no fresh one arrived: the server disconnects right after. */
  "auth.expired": (info: { exp: number }) => void;
  /**
   * The connection fell more than CLIENT_BUFFER_BYTES behind (its client negotiated resync): the
   * hub dropped its live events and took it off these topics. Subscribe to each again with the
   * `since` of the last event processed, to recover what was dropped from history.
   */
  resync: (info: ResyncInfo) => void;
  /**
   * Several broadcasts of one topic that reached the gateway within one turn (`WRITE_DELAY_MS`), as
   * one frame, in order: only to clients that asked for it at the handshake (`auth.coalesce: true`;
   * the client SDK does and unpacks it). Each item is what would have come alone: `[event, envelope]`.
   */
  batch: (events: Array<[event: string, envelope: unknown]>) => void;
}

/** The event of a batch frame (see `ServerToClientEvents.batch`). */
export const BATCH_EVENT = "batch";

/** `resync`'s argument: the topics the connection was taken off, each with its position when it was. */
export interface ResyncInfo {
  topics: Array<{ topic: string; offset: number; epoch: string }>;
}
