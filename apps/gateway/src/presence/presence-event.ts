import { type Envelope, type PresenceChange, topicOfRoom, uuidv7 } from "@hub/events";
import type { Outgoing } from "@hub/store";

/** The client events presence announces; they are also the envelopes' `type`. */
type PresenceEventName = "presence.join" | "presence.leave";

export interface PresenceEventInput {
  type: PresenceEventName;
  /** The topic's room; the envelope names the topic. */
  topic: string;
  userId: string;
  orgId: string;
  /** On `presence.join`: when the user became present, epoch ms. */
  joinedAt?: number;
}

/**
 * The broadcast of a `presence.join` or `presence.leave` to the topic's room. Presence is not part
 * of a topic's history: the envelope has no `offset` or `epoch`.
 */
export function presenceEvent({
  type,
  topic,
  userId,
  orgId,
  joinedAt,
}: PresenceEventInput): Outgoing & { clientEvent: PresenceEventName; envelope: Envelope<PresenceChange> } {
  const data: PresenceChange = joinedAt === undefined ? { user_id: userId } : { user_id: userId, joined_at: joinedAt };
  const envelope: Envelope<PresenceChange> = { id: uuidv7(), type, topic: topicOfRoom(topic), org_id: orgId, data, ts: Date.now() };
  return { topic, clientEvent: type, envelope };
}
