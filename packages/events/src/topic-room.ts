import type { ResolvedNamespace } from "./topic-registry.js";

/**
 * Between a topic and its org in a room name: no topic contains it (ids are `[A-Za-z0-9_.-]`,
 * segments are joined by `:`).
 */
const ORG_MARK = "@";

/**
 * A namespace with durable client events spreads its topics over this many client-event streams
 * (per namespace). A stream shares its Redis Cluster slot with the topics of its bucket, so a
 * publication's history, broadcast and stream entry are one atomic step. Changing it moves every
 * such topic's room and keys (docs/operations.md "Redis Cluster: key slots").
 */
export const CLIENT_EVENT_BUCKETS = 16;

/** What decides a topic's room: its namespace's name, scope, authorization and streams. */
export type RoomScope = Pick<ResolvedNamespace, "name" | "scope" | "authorize" | "streamed">;

/**
 * The name a topic's room, history, store-and-forward cursor and presence live under. Other topics
 * are their own room, except:
 * - a topic of a user-scoped namespace names a user only by `sub`, and two orgs may have users with
 *   the same `sub`; a topic of a `grant` namespace (`chat:{conversation_id}`) names what the
 *   backend of one tenant granted. Their room is `<topic>@<org_id>` (`notifications:7@42`), so two
 *   orgs never share a room, a backlog, a cursor or a conversation;
 * - a topic of a namespace with durable client events ends with its stream bucket's hash tag
 *   (`chat:c1@42{chat-b7}`): its keys, its broadcast channel and the bucket's client-event stream
 *   share one Redis Cluster slot.
 * Clients only ever see the topic.
 *
 * @example
 * roomOf("notifications:7", registry.namespace("notifications"), "42"); // "notifications:7@42"
 * roomOf("org:42", registry.namespace("org"), "42"); // "org:42"
 */
export function roomOf(topic: string, namespace: RoomScope, orgId: string): string {
  const perOrg = namespace.scope === "user" || namespace.authorize !== "scope";
  const room = perOrg ? `${topic}${ORG_MARK}${escapeBraces(orgId)}` : topic;
  return namespace.streamed ? `${room}{${streamTag(namespace.name, streamBucket(room))}}` : room;
}

/**
 * The hash tag of one client-event stream bucket, without braces: `chat-b7`. A room of the bucket
 * ends with `{chat-b7}`, and the bucket's stream key holds it too.
 */
export function streamTag(namespace: string, bucket: number): string {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= CLIENT_EVENT_BUCKETS) throw new RangeError(`no stream bucket ${bucket}`);
  return `${namespace}-b${bucket}`;
}

/** The hash tag a room carries (`chat-b7` of `chat:c1@42{chat-b7}`), if any. */
export function roomTag(room: string): string | undefined {
  const open = room.indexOf("{");
  if (open === -1) return undefined;
  const close = room.indexOf("}", open + 1);
  return close > open + 1 ? room.slice(open + 1, close) : undefined;
}

/**
 * The bucket of a room without its tag: FNV-1a (32 bits) of its UTF-16 code units, mod
 * `CLIENT_EVENT_BUCKETS`. Every process must compute the same, so it never changes.
 */
function streamBucket(room: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < room.length; i++) hash = Math.imul(hash ^ room.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % CLIENT_EVENT_BUCKETS;
}

/**
 * A room name's own braces would be taken for a hash tag, so an org id's braces (and `%`, to keep
 * the mapping one-to-one) are percent-encoded. Topic ids never hold any of them.
 */
function escapeBraces(orgId: string): string {
  return /[{}%]/.test(orgId) ? orgId.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : orgId;
}

/** The topic of a room name made by `roomOf` (the room itself for topics that are their own room). */
export function topicOfRoom(room: string): string {
  const mark = room.indexOf(ORG_MARK);
  if (mark !== -1) return room.slice(0, mark);
  const tag = room.indexOf("{");
  return tag === -1 ? room : room.slice(0, tag);
}
