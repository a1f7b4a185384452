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
  /**
   * Sets the connection's metadata (serialized JSON) on its topic and announces `presence.update`
   * there, unless it was already this. `absent`: the connection is not recorded (not joined yet, or
   * swept); nothing changed.
   */
  update(entry: PresenceEntry, meta: string): Promise<MetaOutcome>;
  /** The users present on the topic, earliest first (`byJoinTime`), each with the metadata of their most recently updated connection. */
  list(topic: string): Promise<PresenceMember[]>;
  /** The topics (rooms) one user of an org is present on, cluster-wide, earliest first. */
  userTopics(orgId: string, userId: string): Promise<PresenceSince[]>;
  /** The users of an org present on any topic, cluster-wide, earliest first, at most `limit`. */
  orgUsers(orgId: string, limit: number): Promise<OrgPresence>;
  /** Stops heartbeats and sweeps; this node's entries are left to expire (or removed on a clean close). */
  close(): Promise<void>;
}

/** What `Presence.update` did. */
export type MetaOutcome = "updated" | "unchanged" | "absent";

/** A topic (room) or a user, present since (epoch ms). */
export interface PresenceSince {
  id: string;
  since: number;
}

export interface OrgPresence {
  users: PresenceSince[];
  /** Whether more users are present than `limit`. */
  truncated: boolean;
}

/** The most recently updated of a user's connections' metadata, parsed; undefined without any. */
export function latestMeta(metas: Iterable<{ at: number; meta: string }>): PresenceMember["meta"] {
  let latest: { at: number; meta: string } | undefined;
  for (const candidate of metas) if (!latest || candidate.at >= latest.at) latest = candidate;
  return latest === undefined ? undefined : (JSON.parse(latest.meta) as PresenceMember["meta"]);
}

/** Earliest first, ties by id, then at most `limit`: what `orgUsers` answers from every user's since. */
export function earliestFirst(sinceOf: Map<string, number>, limit: number): OrgPresence {
  const all = [...sinceOf]
    .map(([id, since]) => ({ id, since }))
    .sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { users: all.slice(0, limit), truncated: all.length > limit };
}

/** The order `Presence.list` answers in: earliest first, ties by user id, the same on every node. */
export function byJoinTime(a: PresenceMember, b: PresenceMember): number {
  return a.joined_at - b.joined_at || (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0);
}
