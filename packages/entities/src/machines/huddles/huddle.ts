/** One participant of a huddle, as `huddle:join` answers and `huddle:participant:*` carry them. */
export interface HuddleParticipant {
  user_id: string;
  joined_at: number;
  audio: boolean;
  video: boolean;
  screen: boolean;
  hand: boolean;
  /** The participant's connections in the huddle (`<node>/<socket id>`); none while away. */
  connections: string[];
  /** Since when the participant has had no connection (epoch ms): they leave HUDDLE_GRACE_MS later unless they come back. */
  away_since: number | null;
}

/** A group room of one conversation (docs/protocol.md "Huddles"). */
export interface Huddle {
  id: string;
  org_id: string;
  conversation_id: string;
  created_by: string | null;
  created_at: number;
  /** Participants at most. */
  max: number;
  participants: HuddleParticipant[];
  /** Who shares their screen: one at a time. */
  screen: string | null;
  /** Since when nobody has been in it (epoch ms): an empty huddle ends a while later. */
  empty_since: number | null;
  /** Moves with every change: part of the ids of the events it emits. */
  seq: number;
}

/** What a participant can switch on and off. */
export type HuddleToggle = "audio" | "video" | "screen" | "hand";

/** A request about a huddle, by `by` of `org_id` (null `by`: a service, over HTTP). */
export type HuddleCommand =
  | { type: "create"; huddle_id: string; by: string | null; org_id: string; conversation_id: string; max: number }
  | { type: "join"; huddle_id: string; by: string; org_id: string; connection: string }
  /** From `connection`: while the participant has another connection in the huddle, only this one leaves. */
  | { type: "leave"; huddle_id: string; by: string; org_id: string; connection?: string }
  | { type: "toggle"; huddle_id: string; by: string; org_id: string; what: HuddleToggle; enabled: boolean }
  | { type: "message"; huddle_id: string; by: string; org_id: string; text: string; message_id: string }
  | { type: "invite"; huddle_id: string; by: string | null; org_id: string; user_ids: string[] }
  /** One of the participant's connections closed. */
  | { type: "disconnect"; huddle_id: string; by: string; org_id: string; connection: string }
  /** Every connection of the participant is gone at once (their gateway died): away, as after their last disconnect. */
  | { type: "away"; huddle_id: string; by: string; org_id: string };
