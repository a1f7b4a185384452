import type { PresenceMember } from "@hub/events";

/** A connection of a user on a topic of a namespace with presence. */
export interface PresenceEntry {
  /** The topic's room (`roomOf`): per-user topics are present per org. */
  topic: string;
  userId: string;
  /** The user's org: the `org_id` of the `presence.*` envelopes. */
  orgId: string;
  /** The socket id; unique across the cluster. */
  connectionId: string;
}

/**
 * Who is on which topic, cluster-wide, counted per user over all of their connections. Announces
 * `presence.join` on a topic when a user's first connection arrives and `presence.leave` when the
 * last one goes, through the topic's room on every node.
 */
export interface Presence {
  /** Records the connection; announces `presence.join` when it is the user's first on the topic. */
  join(entry: PresenceEntry): Promise<void>;
  /** Forgets the connection; announces `presence.leave` when it was the user's last on the topic. */
  leave(entry: PresenceEntry): Promise<void>;
  /** The users present on the topic, earliest first (`byJoinTime`). */
  list(topic: string): Promise<PresenceMember[]>;
  /** Stops heartbeats and sweeps; this node's entries are left to expire (or removed on a clean close). */
  close(): Promise<void>;
}

/** The order `Presence.list` answers in: earliest first, ties by user id, the same on every node. */
export function byJoinTime(a: PresenceMember, b: PresenceMember): number {
  return a.joined_at - b.joined_at || (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0);
}
