import {
  type Envelope,
  type PresenceChange,
  type PresenceEventNames,
  type PresenceMeta,
  type PresenceMetaChange,
  topicOfRoom,
  uuidv7,
} from "@hub/events";
import type { Outgoing } from "@hub/store";

/**
 * What a topic's presence is announced as, by room: its namespace's `presenceEvents`
 * (`presence.join` / `presence.leave` unless it says otherwise; `user:online` / `user:offline` on chat).
 */
export type PresenceNaming = (room: string) => PresenceEventNames;

export interface PresenceEventInput {
  type: "join" | "leave" | "update";
  /** The names of the topic's namespace. */
  names: PresenceEventNames;
  /** The topic's room; the envelope names the topic. */
  topic: string;
  userId: string;
  orgId: string;
  /** On `presence.join`: when the user became present, epoch ms. */
  joinedAt?: number;
  /** On `presence.update`: the user's metadata now. */
  meta?: PresenceMeta;
}

/**
 * The broadcast of a join (`presence.join`), a leave (`presence.leave`) or a metadata change
 * (`presence.update`) to the topic's room,
 * under its namespace's names, which are also the envelope's `type`; an empty `clientEvent` on a
 * namespace whose presence is silent (nothing is sent). Presence is not part of a topic's history:
 * the envelope has no `offset` or `epoch`.
 */
export function presenceEvent({
  type,
  names,
  topic,
  userId,
  orgId,
  joinedAt,
  meta,
}: PresenceEventInput): Outgoing & { envelope: Envelope<PresenceChange | PresenceMetaChange> } {
  const data: PresenceChange | PresenceMetaChange =
    meta !== undefined
      ? { user_id: userId, meta }
      : joinedAt === undefined
        ? { user_id: userId }
        : { user_id: userId, joined_at: joinedAt };
  // A silent namespace's presence is tracked, not announced: no client event name.
  const name = names.silent ? "" : (names[type] ?? "presence.update");
  const envelope: Envelope<PresenceChange | PresenceMetaChange> = {
    id: uuidv7(),
    type: name,
    topic: topicOfRoom(topic),
    org_id: orgId,
    data,
    ts: Date.now(),
  };
  return { topic, clientEvent: name, envelope };
}
