import type { Ack } from "./ack.js";
import type { Envelope } from "./envelope.js";

/** Seed 003's calls and huddles as the socket protocol carries them (docs/protocol.md "Calls", "Huddles"). */

export type CallMediaKind = "audio" | "video";

export interface CallInitiateRequest {
  /** The callee's user id, of the caller's org. */
  to: string;
  media: CallMediaKind;
  /** For an idempotent retry. @default a fresh UUIDv7 */
  call_id?: string;
}

export interface CallInitiateOk {
  ok: true;
  call_id: string;
  /** True when the callee was on another call: the call did not ring, the caller also gets `call:busy`. */
  busy?: boolean;
}

export interface CallRequest {
  call_id: string;
}

/** `webrtc:offer | webrtc:answer | webrtc:ice-candidate`: relayed as is to the other party. */
export interface SignalRequest {
  call_id: string;
  sdp?: unknown;
  candidate?: unknown;
}

export interface CallToggleRequest {
  call_id: string;
  enabled: boolean;
}

export interface CallOk {
  ok: true;
  call_id: string;
}

export interface HuddleCreateRequest {
  conversation_id: string;
  /** Participants at most. @default HUDDLE_MAX_PARTICIPANTS, which is also its ceiling */
  max?: number;
}

export interface HuddleCreateOk {
  ok: true;
  huddle_id: string;
  /** False when the conversation's existing huddle was answered. */
  created: boolean;
}

export interface HuddleRequest {
  huddle_id: string;
}

/** A participant as `huddle:join` answers and `huddle:participant:*` carry them. */
export interface HuddleMember {
  user_id: string;
  joined_at: number;
  audio: boolean;
  video: boolean;
  screen: boolean;
  hand: boolean;
  /** The participant's last connection closed; they leave after HUDDLE_GRACE_MS unless they come back. */
  away: boolean;
}

export interface HuddleJoinOk {
  ok: true;
  huddle_id: string;
  participants: HuddleMember[];
}

export interface HuddleToggleRequest {
  huddle_id: string;
  enabled: boolean;
}

export interface HuddleRaiseHandRequest {
  huddle_id: string;
  raised: boolean;
}

export interface HuddleMessageRequest {
  huddle_id: string;
  text: string;
  /** For an idempotent retry. @default a fresh UUIDv7 */
  message_id?: string;
}

export interface HuddleInviteRequest {
  huddle_id: string;
  user_ids: string[];
}

export interface HuddleOk {
  ok: true;
  huddle_id: string;
}

/** The call and huddle requests a client may send; each takes an acknowledgement callback. */
export interface RtcRequests {
  "call:initiate": (req: CallInitiateRequest, ack?: Ack<CallInitiateOk>) => void;
  "call:answer": (req: CallRequest, ack?: Ack<CallOk>) => void;
  "call:reject": (req: CallRequest, ack?: Ack<CallOk>) => void;
  "call:end": (req: CallRequest, ack?: Ack<CallOk>) => void;
  "webrtc:offer": (req: SignalRequest, ack?: Ack<CallOk>) => void;
  "webrtc:answer": (req: SignalRequest, ack?: Ack<CallOk>) => void;
  "webrtc:ice-candidate": (req: SignalRequest, ack?: Ack<CallOk>) => void;
  "call:toggle-audio": (req: CallToggleRequest, ack?: Ack<CallOk>) => void;
  "call:toggle-video": (req: CallToggleRequest, ack?: Ack<CallOk>) => void;
  "huddle:create": (req: HuddleCreateRequest, ack?: Ack<HuddleCreateOk>) => void;
  "huddle:join": (req: HuddleRequest, ack?: Ack<HuddleJoinOk>) => void;
  "huddle:leave": (req: HuddleRequest, ack?: Ack<HuddleOk>) => void;
  "huddle:toggle-audio": (req: HuddleToggleRequest, ack?: Ack<HuddleOk>) => void;
  "huddle:toggle-video": (req: HuddleToggleRequest, ack?: Ack<HuddleOk>) => void;
  "huddle:toggle-screen": (req: HuddleToggleRequest, ack?: Ack<HuddleOk>) => void;
  "huddle:raise-hand": (req: HuddleRaiseHandRequest, ack?: Ack<HuddleOk>) => void;
  "huddle:message": (req: HuddleMessageRequest, ack?: Ack<HuddleOk>) => void;
  "huddle:invite": (req: HuddleInviteRequest, ack?: Ack<HuddleOk>) => void;
}

/** The call events a user's `webrtc:{user_id}` topic delivers; every `data` has the `call_id`. */
export interface CallEvents {
  "call:incoming": (msg: Envelope<{ call_id: string; from: string; media: CallMediaKind }>) => void;
  "call:busy": (msg: Envelope<{ call_id: string; to: string }>) => void;
  "call:answered": (msg: Envelope<{ call_id: string; by: string }>) => void;
  "call:rejected": (msg: Envelope<{ call_id: string; by: string }>) => void;
  /** `by` is null when the call reached CALL_MAX_DURATION_MS (`reason: "max_duration"`). */
  "call:ended": (
    msg: Envelope<{ call_id: string; by: string | null; reason: "hangup" | "disconnected" | "max_duration"; duration_ms: number }>,
  ) => void;
  "call:missed": (msg: Envelope<{ call_id: string }>) => void;
  "call:toggle-audio": (msg: Envelope<{ call_id: string; user_id: string; enabled: boolean }>) => void;
  "call:toggle-video": (msg: Envelope<{ call_id: string; user_id: string; enabled: boolean }>) => void;
  /** Signalling from the other party, as they sent it (`sdp` or `candidate`), with `from`. */
  "webrtc:offer": (msg: Envelope<{ call_id: string; from: string; sdp?: unknown }>) => void;
  "webrtc:answer": (msg: Envelope<{ call_id: string; from: string; sdp?: unknown }>) => void;
  "webrtc:ice-candidate": (msg: Envelope<{ call_id: string; from: string; candidate?: unknown }>) => void;
}

/** The events a huddle's topic delivers (and `huddle:invited` on the invitee's `notifications:`). */
export interface HuddleEvents {
  "huddle:participant:joined": (msg: Envelope<{ huddle_id: string; participant: HuddleMember }>) => void;
  "huddle:participant:left": (msg: Envelope<{ huddle_id: string; user_id: string }>) => void;
  "huddle:participant:updated": (msg: Envelope<{ huddle_id: string; participant: HuddleMember }>) => void;
  "huddle:message:new": (msg: Envelope<{ huddle_id: string; message_id: string; user_id: string; text: string; ts: number }>) => void;
  "huddle:ended": (msg: Envelope<{ huddle_id: string }>) => void;
  "huddle:invited": (msg: Envelope<{ huddle_id: string; conversation_id: string; by: string | null }>) => void;
}
