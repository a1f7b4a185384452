/** What a call carries: audio only, or audio and video. */
export type CallMedia = "audio" | "video";

/**
 * `ringing -> active -> completed`, `ringing -> rejected`, `ringing -> missed` (the ring timeout),
 * `ringing -> completed` (the caller hung up first), and `busy`: the callee was on another call.
 */
export type CallStatus = "ringing" | "active" | "completed" | "rejected" | "missed" | "busy";

/** One 1:1 call (docs/protocol.md "Calls"), as `GET /api/v1/calls/:call_id` answers it. */
export interface Call {
  id: string;
  org_id: string;
  caller: string;
  callee: string;
  media: CallMedia;
  status: CallStatus;
  created_at: number;
  /** When the callee stops ringing unanswered, epoch ms; null once it is not ringing. */
  ring_deadline: number | null;
  answered_at: number | null;
  ended_at: number | null;
  /** Who ended, rejected or hung up; null for a missed call and one that reached its maximum duration. */
  ended_by: string | null;
  /** Each party's microphone and camera, as last toggled. */
  audio: Record<string, boolean>;
  video: Record<string, boolean>;
  /** Moves with every change: part of the ids of the events it emits. */
  seq: number;
}

/** Whether a call still holds its parties (a callee on it is busy). */
export function isLive(call: Call | null): boolean {
  return call !== null && (call.status === "ringing" || call.status === "active");
}

/** A request about a call, by `by` of `org_id` (a user of another org is never a party). */
export type CallCommand =
  | { type: "initiate"; call_id: string; by: string; org_id: string; to: string; media: CallMedia }
  /** The callee is on another call: recorded as `busy`, the caller is told. */
  | { type: "busy"; call_id: string; by: string; org_id: string; to: string; media: CallMedia }
  | { type: "answer"; by: string; org_id: string }
  | { type: "reject"; by: string; org_id: string }
  | { type: "end"; by: string; org_id: string; reason: "hangup" | "disconnected" }
  | { type: "toggle"; by: string; org_id: string; media: CallMedia; enabled: boolean };
