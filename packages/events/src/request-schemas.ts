import { type Static, type TSchema, Type } from "@sinclair/typebox";
import type { ValueError } from "@sinclair/typebox/errors";
import { ProtocolError, type ProtocolErrorCode } from "./hub-error.js";
import type { RequestName } from "./protocol.js";
import { IdLike, Payload } from "./schemas/common.js";
import { type CompiledCheck, compile } from "./schemas/compile.js";
import {
  CallInitiateSchema,
  CallRequestSchema,
  CallToggleSchema,
  HuddleCreateSchema,
  HuddleInviteSchema,
  HuddleMessageSchema,
  HuddleRaiseHandSchema,
  HuddleRequestSchema,
  HuddleToggleSchema,
  SignalSchema,
} from "./schemas/rtc.js";

/**
 * Annotates a property whose malformed value is refused with another code than `bad_request`.
 * Only `ack`'s topic has one: the registry has always answered `ack` on a topic that is not a
 * string with `invalid_topic`, and the contract keeps that.
 */
const REFUSED_AS = "x-refused-as";

/** A topic; its syntax, namespace and who may use it are the registry's (`invalid_topic`, `unknown_namespace`, `forbidden`). */
const Topic = Type.String();

/**
 * The `org_id` of a request on a topic: a service names the org of a per-user topic with it. Any
 * other request ignores it, so it is checked only where it is used (the gateway's `roomFor`:
 * `bad_request` unless it is an id); a client that sends something else there is not refused.
 */
const TopicOrg = Type.Optional(Type.Unknown());

/** An offset in a topic's history, as `Number.isSafeInteger` and non-negative. */
const Offset = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** `subscribe { topic, since?, org_id? }` (docs/protocol.md "subscribe"). */
const SubscribeRequestSchema = Payload({
  topic: Topic,
  since: Type.Optional(Payload({ offset: Offset, epoch: Type.String({ maxLength: 64 }) })),
  org_id: TopicOrg,
  token: Type.Optional(Type.String({ maxLength: 8192 })),
});

/**
 * `publish { topic, event, data, id?, token?, org_id? }`. `data` is any value here: that it is an
 * object of the event's schema and size is the event's declaration's to say (`invalid_event`,
 * `payload_too_large`), after the event is known (`unknown_event`).
 */
const PublishRequestSchema = Payload({
  topic: Topic,
  event: Type.String({ maxLength: 64 }),
  data: Type.Unknown(),
  id: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_.:-]{1,128}$" })),
  token: Type.Optional(Type.String({ maxLength: 8192 })),
  org_id: TopicOrg,
});

/** `unsubscribe { topic, org_id? }`: the topic is not otherwise checked, leaving one never joined succeeds. */
const UnsubscribeRequestSchema = Payload({ topic: Type.String({ minLength: 1 }), org_id: TopicOrg });

/** `ack { topic, offset, epoch? }`: a user's own topic, so no `org_id`. */
const AckRequestSchema = Payload({
  topic: Type.String({ [REFUSED_AS]: "invalid_topic" }),
  offset: Offset,
  epoch: Type.Optional(Type.String()),
});

/** `presence { topic, org_id? }`. */
const PresenceRequestSchema = Payload({ topic: Topic, org_id: TopicOrg });

/**
 * `presence.update { topic, meta }`: `meta` is any JSON object; its size (1 KiB serialized,
 * `payload_too_large`) is the handler's to check.
 */
const PresenceUpdateRequestSchema = Payload({ topic: Topic, meta: Type.Object({}, { additionalProperties: true }) });

/** `auth.refresh { token }`: an empty token is a string, refused as `token_invalid` by the handler. */
const AuthRefreshRequestSchema = Payload({ token: Type.String() });

/** `inhouse.join | inhouse.leave | inhouse.check_in { queue_id, org_id? }`: ids, integers too (Rails). */
const InhouseRequestSchema = Payload({ queue_id: IdLike, org_id: Type.Optional(IdLike) });

/**
 * The schema of every request a client may send, by event name: the gateway validates each request
 * against it once, before its handler runs. Other properties pass (a newer client's extra field is
 * ignored, as is an inhouse request's `user_id`: a user acts as its token's `sub`).
 */
export const REQUEST_SCHEMAS = {
  subscribe: SubscribeRequestSchema,
  unsubscribe: UnsubscribeRequestSchema,
  "auth.refresh": AuthRefreshRequestSchema,
  ack: AckRequestSchema,
  presence: PresenceRequestSchema,
  "presence.update": PresenceUpdateRequestSchema,
  "inhouse.join": InhouseRequestSchema,
  "inhouse.leave": InhouseRequestSchema,
  "inhouse.check_in": InhouseRequestSchema,
  publish: PublishRequestSchema,
  "call:initiate": CallInitiateSchema,
  "call:answer": CallRequestSchema,
  "call:reject": CallRequestSchema,
  "call:end": CallRequestSchema,
  "webrtc:offer": SignalSchema,
  "webrtc:answer": SignalSchema,
  "webrtc:ice-candidate": SignalSchema,
  "call:toggle-audio": CallToggleSchema,
  "call:toggle-video": CallToggleSchema,
  "huddle:create": HuddleCreateSchema,
  "huddle:join": HuddleRequestSchema,
  "huddle:leave": HuddleRequestSchema,
  "huddle:toggle-audio": HuddleToggleSchema,
  "huddle:toggle-video": HuddleToggleSchema,
  "huddle:toggle-screen": HuddleToggleSchema,
  "huddle:raise-hand": HuddleRaiseHandSchema,
  "huddle:message": HuddleMessageSchema,
  "huddle:invite": HuddleInviteSchema,
} satisfies { [E in RequestName]: TSchema };

/**
 * A request as the server accepts it, its schema's type. A typed client's `PayloadOf<E>` is always
 * one; the wire takes a little more (integer ids, a service's `org_id`).
 */
export type RequestOf<E extends RequestName> = Static<(typeof REQUEST_SCHEMAS)[E]>;

const checks = Object.fromEntries(Object.entries(REQUEST_SCHEMAS).map(([event, schema]) => [event, compile(schema)])) as Record<
  RequestName,
  CompiledCheck
>;

/** Whether `event` is a request of the protocol (own keys only: `"constructor"` is not one). */
export function isRequestName(event: string): event is RequestName {
  return Object.hasOwn(REQUEST_SCHEMAS, event);
}

/**
 * Checks a request against its event's schema and returns it typed; throws `ProtocolError`
 * (`bad_request`, or a property's own code) naming what is wrong.
 */
export function parseRequest<E extends RequestName>(event: E, raw: unknown): RequestOf<E> {
  const check = checks[event];
  if (check.check(raw)) return raw as RequestOf<E>;
  throw new ProtocolError(refusalCode(check.errors(raw)), `${event}: ${check.issues(raw, "", 3).join("; ")}`);
}

/** `bad_request`, unless every failure is on a property with a code of its own (`ack { topic: 7, offset: 1 }`). */
function refusalCode(errors: Iterable<ValueError>): ProtocolErrorCode {
  let code: ProtocolErrorCode = "bad_request";
  for (const error of errors) {
    const own = error.schema[REFUSED_AS] as ProtocolErrorCode | undefined;
    if (own === undefined) return "bad_request";
    code = own;
  }
  return code;
}
