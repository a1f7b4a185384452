import type { NamespaceScope } from "./topic-registry.js";

/**
 * Between a topic and its org in a room name: no topic contains it (ids are `[A-Za-z0-9_.-]`,
 * segments are joined by `:`).
 */
const ORG_MARK = "@";

/**
 * The name a topic's room, history, store-and-forward cursor and presence live under. A topic of a
 * user-scoped namespace names a user only by `sub`, and two orgs may have users with the same
 * `sub`: its room is `<topic>@<org_id>` (`notifications:7@42`), so those users never share a room,
 * a backlog or a cursor. Other topics are their own room. Clients only ever see the topic.
 *
 * @example
 * roomOf("notifications:7", "user", "42"); // "notifications:7@42"
 * roomOf("org:42", "org", "42"); // "org:42"
 */
export function roomOf(topic: string, scope: NamespaceScope, orgId: string): string {
  return scope === "user" ? `${topic}${ORG_MARK}${escapeBraces(orgId)}` : topic;
}

/**
 * A room name is the hash tag of its topic's Redis keys (one Redis Cluster slot per topic), so it
 * holds no `{` or `}`: an org id's braces (and `%`, to keep the mapping one-to-one) are
 * percent-encoded. Topic ids never hold any of them.
 */
function escapeBraces(orgId: string): string {
  return /[{}%]/.test(orgId) ? orgId.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : orgId;
}

/** The topic of a room name made by `roomOf` (the room itself for topics that are their own room). */
export function topicOfRoom(room: string): string {
  const mark = room.indexOf(ORG_MARK);
  return mark === -1 ? room : room.slice(0, mark);
}
