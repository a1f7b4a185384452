import { Type } from "@sinclair/typebox";
import { IdLike, Payload } from "./common.js";

/** A call id: what `call:initiate` may choose, what every other call request names. */
const CallId = Type.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$" });
/** A huddle id as `huddle:create` answers it. */
const HuddleId = Type.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$" });

/** An SDP or ICE candidate: relayed as is, bounded by the request size limit (MAX_MESSAGE_BYTES). */
const Signal = Type.Optional(Type.Unknown());

export const CallInitiateSchema = Payload({
  to: IdLike,
  media: Type.Union([Type.Literal("audio"), Type.Literal("video")]),
  call_id: Type.Optional(CallId),
});
export const CallRequestSchema = Payload({ call_id: CallId });
export const SignalSchema = Payload({ call_id: CallId, sdp: Signal, candidate: Signal });
export const CallToggleSchema = Payload({ call_id: CallId, enabled: Type.Boolean() });

export const HuddleCreateSchema = Payload({ conversation_id: IdLike, max: Type.Optional(Type.Integer({ minimum: 2, maximum: 10_000 })) });
export const HuddleRequestSchema = Payload({ huddle_id: HuddleId });
export const HuddleToggleSchema = Payload({ huddle_id: HuddleId, enabled: Type.Boolean() });
export const HuddleRaiseHandSchema = Payload({ huddle_id: HuddleId, raised: Type.Boolean() });
export const HuddleMessageSchema = Payload({
  huddle_id: HuddleId,
  text: Type.String({ minLength: 1, maxLength: 4000 }),
  message_id: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$" })),
});
export const HuddleInviteSchema = Payload({ huddle_id: HuddleId, user_ids: Type.Array(IdLike, { minItems: 1, maxItems: 50 }) });
