import { KEY_PREFIX, roomTag, streamTag } from "@hub/events";
import { deadLetterOrg } from "./dead-letters.js";

/** The prefix every Redis key and channel of a hub starts with. */
export const DEFAULT_KEY_PREFIX = "hub";

/**
 * Inhouse queues are spread over this many buckets. A bucket is one Redis Cluster slot (hash tag
 * `{iq-b<k>}`): its queues' keys, its active set and its deadline set, so every queue script touches
 * one slot. Changing it moves every queue's keys (see docs/operations.md "Redis Cluster: key slots").
 */
export const QUEUE_BUCKETS = 16;

/**
 * The bucket of a queue, by its name `{org_id}/{queue_id}`: FNV-1a (32 bits) of the name's UTF-16
 * code units, mod `QUEUE_BUCKETS`. Every process must compute the same, so it never changes.
 */
export function queueBucket(name: string): number {
  return fnv1a(name) % QUEUE_BUCKETS;
}

/**
 * Pending pushes (docs/operations.md "Push hook") are spread over this many buckets, each one Redis
 * Cluster slot (hash tag `{push-b<k>}`): its due set, its entries and its dedupe marks.
 */
export const PUSH_BUCKETS = 16;

/** The push bucket of a user: FNV-1a of `{org}/{user}` (as in `userTag`), mod `PUSH_BUCKETS`. */
export function pushBucket(orgId: string, userId: string): number {
  return fnv1a(userTag(orgId, userId)) % PUSH_BUCKETS;
}

/** FNV-1a (32 bits) of a string's UTF-16 code units. Every process must compute the same, so it never changes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * Entities of one machine of the entity runtime (calls, huddles) are spread over this many buckets,
 * each one Redis Cluster slot (`{<kind>-b<k>}`): an entity's keys and its bucket's deadline and
 * outbox sets, so every entity script touches one slot.
 */
export const ENTITY_BUCKETS = 16;

/** The bucket of an entity by its id: FNV-1a (32 bits), mod `ENTITY_BUCKETS`; never changes. */
export function entityBucket(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % ENTITY_BUCKETS;
}

function entityBucketKeys(prefix: string, kind: string, bucket: number): EntityBucketKeys {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= ENTITY_BUCKETS) throw new RangeError(`no entity bucket ${bucket}`);
  const base = `${prefix}:ent:{${kind}-b${bucket}}`;
  return { bucket, deadlines: `${base}:deadlines`, outboxes: `${base}:outboxes` };
}

/** Every Redis key and channel name the hub uses; nothing else builds key strings. */
export interface HubKeys {
  readonly prefix: string;
  /** Channel prefix shared by `@socket.io/redis-adapter` (gateways) and `@socket.io/redis-emitter` (producers). */
  readonly socketIo: string;
  /**
   * The channel a topic's broadcasts go out on: `@socket.io/redis-adapter`'s per-room channel
   * (`<prefix>:sio#/#<room>#`), PUBLISH in classic mode, SPUBLISH in sharded mode. Every key of the
   * topic carries it as its hash tag, so the topic's keys and channel share one Redis Cluster slot.
   */
  topicChannel(room: string): string;
  /**
   * Marks an event id as delivered to one topic for the dedupe window; scoped by topic and org (`:`
   * is not an id character), in the topic's slot.
   */
  dedupe(room: string, orgId: string, eventId: string): string;
  /**
   * Dead-letter stream by name (see `deadLetterStreamName`): `42:roster.any` is
   * `<prefix>:dlq:{42}:roster.any`. The stream's org part (`deadLetterOrg`: the org id, `_unknown`,
   * `_overflow`) is the hash tag of every dead-letter key of that org, so they share one slot.
   */
  deadLetters(stream: string): string;
  /** Sorted set of one org's dead-letter stream names written within their lifetime, scored by last write (epoch ms); the org's slot. */
  deadLetterIndex(org: string): string;
  /** Sorted set of the orgs (stream org parts) with dead letters written within their lifetime, scored by last write (epoch ms). */
  readonly deadLetterOrgs: string;
  /** Sorted set of the dead-letter streams one source (`http`, `webhook`, ...) wrote, scored by its last write (epoch ms). */
  deadLetterSourceIndex(source: string): string;
  /** Marks a rejected input as dead-lettered, so several nodes seeing it append it once; the slot of the org it is filed under. */
  deadLetterSeen(org: string, fingerprint: string): string;
  /** Keys of one inhouse queue, by its name `{org_id}/{queue_id}`: all in its bucket's slot (see `queueBucket`). */
  queue(name: string): QueueKeys;
  /** The active set and deadline set of one queue bucket, `0 <= bucket < QUEUE_BUCKETS`. */
  queueBucket(bucket: number): QueueBucketKeys;
  /** Channel announcing a queue has new commands (message: its name). */
  readonly queueWake: string;
  /**
   * Keys of one entity of the entity runtime (a call, a huddle) of machine `kind`, by its id: its
   * state and outbox, with its bucket's deadline and outbox sets, all in the bucket's slot
   * (`{<kind>-b<k>}`, see `entityBucket`).
   */
  entity(kind: string, id: string): EntityKeys;
  /** The deadline and outbox sets of one bucket of a machine, `0 <= bucket < ENTITY_BUCKETS`. */
  entityBucket(kind: string, bucket: number): EntityBucketKeys;
  /** The call a user is on (a call id), in the user's slot: what `call:initiate` checks for busy. */
  callLine(orgId: string, userId: string): string;
  /** Keys of one topic's history (by its room, see `roomOf`), in the topic's slot. */
  history(room: string): HistoryKeys;
  /**
   * The client-event stream of a room's bucket (a room of a namespace with durable client events,
   * see `roomOf`): `<prefix>:ce:{chat-b7}`, in the slot of every topic of the bucket.
   */
  clientEventStream(room: string): string;
  /** The client-event stream of one bucket of a namespace, `0 <= bucket < CLIENT_EVENT_BUCKETS`: what backends consume. */
  clientEvents(namespace: string, bucket: number): string;
  /** A user's client-publication rate state (GCRA), in the user's slot. */
  publishRate(orgId: string, userId: string): string;
  /** Keys of who is present on one topic (by its room), in the topic's slot. */
  presence(room: string): PresenceKeys;
  /** Keys of one gateway node's presence registration, in the node's slot (the node id is the hash tag). */
  presenceNode(nodeId: string): PresenceNodeKeys;
  /**
   * Sorted set of the registrations of gateway nodes holding presence, `{node id}\n{incarnation}`,
   * scored by their last heartbeat (epoch ms), or by minus the time a sweeper claimed it for removal.
   */
  readonly presenceNodes: string;
  /**
   * Hash of the topics one user is present on, in the user's slot: `{node id}\n{incarnation}\n{room}`
   * -> since (epoch ms), one field per node registration holding a connection of the user there.
   * The sweep that removes a registration removes its fields (listed in `presenceNode(..).users`).
   */
  presenceUser(orgId: string, userId: string): string;
  /**
   * Sorted set of the users of an org present anywhere, in the org's slot: `{user id}\n{node
   * id}\n{incarnation}` scored by since (epoch ms), one member per node registration holding a
   * connection of the user. Removed with the registration, like `presenceUser`.
   */
  presenceOrg(orgId: string): string;
  /**
   * Sorted set of the gateways ingesting the legacy channel, scored by their last heartbeat (epoch
   * ms): the members the legacy channel's orgs are partitioned over. One key, so one slot.
   */
  readonly ingestNodes: string;
  /** Hash of one user's live connections, cluster-wide: connection id -> when the entry expires (epoch ms). */
  userConnections(orgId: string, userId: string): string;
  /** When set: the user's tokens issued before this time (epoch ms) are refused. */
  revocation(orgId: string, userId: string): string;
  /** Channel of the gateways' control messages (revoke and disconnect a user's connections), JSON. */
  readonly control: string;
  /** Keys of one push bucket, `0 <= bucket < PUSH_BUCKETS` (see `pushBucket`): one slot. */
  pushBucket(bucket: number): PushBucketKeys;
  /**
   * Sorted set of the users who subscribed to a conversation (a topic of a granted namespace with
   * durable client events) with a grant, scored by their last subscribe (epoch ms): whom a chat
   * message may be pushed to. In the topic's slot.
   */
  pushMembers(room: string): string;
}

/** A push bucket's keys, sharing its `{push-b<k>}` slot. */
export interface PushBucketKeys {
  /** Sorted set of pending pushes (entry ids) scored by their next attempt (epoch ms, Redis's clock). */
  readonly due: string;
  /** Hash: entry id -> the pending push (JSON). */
  readonly entries: string;
  /** Marks an entry id (an event id and a user) as offered, for the push's lifetime: the same push is queued once. */
  seen(entryId: string): string;
}

export interface EntityBucketKeys {
  readonly bucket: number;
  /** Sorted set: entity id -> its deadline (epoch ms). */
  readonly deadlines: string;
  /** Sorted set: entity id -> when events were committed to its outbox and not yet delivered (epoch ms). */
  readonly outboxes: string;
}

export interface EntityKeys extends EntityBucketKeys {
  /** Hash: `state` (JSON), `version`. */
  readonly state: string;
  /** List of committed events not yet delivered, JSON, oldest first. */
  readonly outbox: string;
}

export interface HistoryKeys {
  /** Stream of the topic's recent events; entry ids are `<offset>-0`. */
  readonly stream: string;
  /** Hash: `epoch`, `top` (the last offset given out). */
  readonly meta: string;
  /** Store-and-forward cursor: `<epoch>:<offset>`, the last offset the topic's user acknowledged. */
  readonly cursor: string;
}

export interface PresenceKeys {
  /** Hash: user id -> number of that user's connections on the topic, cluster-wide. */
  readonly counts: string;
  /**
   * Hash: user id -> when the user became present, i.e. the join of the first connection of their
   * current stay (epoch ms).
   */
  readonly since: string;
  /** Hash of one node's connections on the topic: connection id -> `{user id}\n{org id}\n{incarnation}`. */
  entries(nodeId: string): string;
  /** Hash: connection id -> `{updated at, epoch ms}\n{user id}\n{metadata JSON}` (`presence.update`), cluster-wide. */
  readonly meta: string;
  /**
   * The highest incarnation of one node whose entries on the topic were removed (a sweep); joins of
   * that incarnation or an older one are refused. Expires a day after the sweep.
   */
  fence(nodeId: string): string;
}

export interface PresenceNodeKeys {
  /** Hash: `incarnation` (the last one given out), `sealed` (the highest one removed or being removed). */
  readonly registration: string;
  /** Set of the topics (rooms) one incarnation of the node has entries on, for the sweep that removes them. */
  topics(incarnation: number): string;
  /** Set of the users (`{org id}\n{user id}`) one incarnation has put in `presenceUser` / `presenceOrg`, for the sweep. */
  users(incarnation: number): string;
}

/** The index keys of one queue bucket; they share the slot of the bucket's queues. */
export interface QueueBucketKeys {
  /** Set of the names of the bucket's queues that are not retired. */
  readonly active: string;
  /** Sorted set of the bucket's queue names scored by check-in deadline (epoch ms). */
  readonly deadlines: string;
}

/** Keys of one inhouse queue, with its bucket's index keys: one Redis Cluster slot. */
export interface QueueKeys extends QueueBucketKeys {
  /** The queue's bucket (see `queueBucket`). */
  readonly bucket: number;
  /** Hash: `queue` (JSON), `version`, `cursor` (last applied command's stream id). */
  readonly state: string;
  /** Stream of accepted commands, applied in order by the owner. */
  readonly commands: string;
  /** The owner's lease (redlock resource); its value is the owner's token. */
  readonly lease: string;
  /** List of events committed with a change and not yet published. */
  readonly outbox: string;
  /** Marks a command id as accepted for this queue for the dedupe window. */
  commandSeen(commandId: string): string;
}

/** The hash tag of a queue bucket: the bucket's queues and indexes share its slot. */
function queueBucketTag(bucket: number): string {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= QUEUE_BUCKETS) throw new RangeError(`no queue bucket ${bucket}`);
  return `{iq-b${bucket}}`;
}

function queueBucketKeys(prefix: string, bucket: number): QueueBucketKeys {
  const tag = queueBucketTag(bucket);
  return { active: `${prefix}:iq-active:${tag}`, deadlines: `${prefix}:iq-deadlines:${tag}` };
}

/**
 * The hash tag of a user's keys, `{<org>/<user>}`: one slot per (org, user). Identities may hold
 * any printable character, so `/`, `%` and braces are percent-encoded: org `a/b` with user `c` and
 * org `a` with user `b/c` are two users, and an identity cannot end the tag early. Ids without
 * those characters (all of the usual ones) keep the key they always had.
 */
function userTag(orgId: string, userId: string): string {
  return `{${escapeUserPart(orgId)}/${escapeUserPart(userId)}}`;
}

function escapeUserPart(id: string): string {
  return /[/%{}]/.test(id) ? id.replace(/[/%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : id;
}

/**
 * The hash tag of a topic's keys: its room's own tag when it has one (a bucket's, `{chat-b7}`: the
 * adapter's channel for the room hashes to it too), else the room's channel, braced.
 */
function topicTag(prefix: string, room: string): string {
  const tag = roomTag(room);
  return tag === undefined ? `{${topicChannel(prefix, room)}}` : room;
}

/** The adapter's channel for one room (a room's braces are its bucket's hash tag: see `roomOf`). */
function topicChannel(prefix: string, room: string): string {
  return `${topicChannelPrefix(prefix)}#/#${room}#`;
}

function topicChannelPrefix(prefix: string): string {
  return `${prefix}:sio`;
}

/**
 * Builds the key set of one hub. Several hubs can share a Redis by using different prefixes.
 *
 * @example
 * const keys = hubKeys("staging"); // keys.socketIo === "staging:sio"
 */
export function hubKeys(prefix: string = DEFAULT_KEY_PREFIX): HubKeys {
  if (!KEY_PREFIX.test(prefix)) throw new TypeError(`key prefix must match ${KEY_PREFIX}`);
  return {
    prefix,
    socketIo: topicChannelPrefix(prefix),
    topicChannel: (room) => topicChannel(prefix, room),
    dedupe: (room, orgId, eventId) => `${prefix}:dedupe:${topicTag(prefix, room)}:${orgId}:${eventId}`,
    deadLetters: (stream) => {
      const org = deadLetterOrg(stream);
      return `${prefix}:dlq:{${org}}${stream.slice(org.length)}`;
    },
    deadLetterIndex: (org) => `${prefix}:dlq-index:{${org}}`,
    deadLetterOrgs: `${prefix}:dlq-orgs`,
    deadLetterSourceIndex: (source) => `${prefix}:dlq-source:${source}`,
    deadLetterSeen: (org, fingerprint) => `${prefix}:dlq-seen:{${org}}:${fingerprint}`,
    queue: (name) => {
      const bucket = queueBucket(name);
      const tag = queueBucketTag(bucket);
      return {
        ...queueBucketKeys(prefix, bucket),
        bucket,
        state: `${prefix}:iq:${tag}:${name}:state`,
        commands: `${prefix}:iq:${tag}:${name}:commands`,
        lease: `${prefix}:iq:${tag}:${name}:lease`,
        outbox: `${prefix}:iq:${tag}:${name}:outbox`,
        commandSeen: (commandId) => `${prefix}:iq-seen:${tag}:${name}:${commandId}`,
      };
    },
    queueBucket: (bucket) => queueBucketKeys(prefix, bucket),
    queueWake: `${prefix}:iq-wake`,
    entity: (kind, id) => {
      const bucket = entityBucket(id);
      const base = `${prefix}:ent:{${kind}-b${bucket}}`;
      return { ...entityBucketKeys(prefix, kind, bucket), state: `${base}:${id}:s`, outbox: `${base}:${id}:o` };
    },
    entityBucket: (kind, bucket) => entityBucketKeys(prefix, kind, bucket),
    callLine: (orgId, userId) => `${prefix}:user:${userTag(orgId, userId)}:line`,
    history: (room) => {
      const tag = topicTag(prefix, room);
      return { stream: `${prefix}:h:${tag}:s`, meta: `${prefix}:h:${tag}:m`, cursor: `${prefix}:h:${tag}:ack` };
    },
    clientEventStream: (room) => {
      const tag = roomTag(room);
      if (tag === undefined) throw new TypeError(`room ${room} has no client-event stream bucket`);
      return `${prefix}:ce:{${tag}}`;
    },
    clientEvents: (namespace, bucket) => `${prefix}:ce:{${streamTag(namespace, bucket)}}`,
    publishRate: (orgId, userId) => `${prefix}:user:${userTag(orgId, userId)}:rate`,
    presence: (room) => {
      const tag = topicTag(prefix, room);
      return {
        counts: `${prefix}:pr:${tag}:n`,
        since: `${prefix}:pr:${tag}:t`,
        entries: (nodeId) => `${prefix}:pr:${tag}:e:${nodeId}`,
        fence: (nodeId) => `${prefix}:pr:${tag}:f:${nodeId}`,
        meta: `${prefix}:pr:${tag}:meta`,
      };
    },
    // A node's keys share its id as hash tag: one slot, so one script can check and change them.
    presenceNode: (nodeId) => ({
      registration: `${prefix}:pr-node:{${nodeId}}:reg`,
      topics: (incarnation) => `${prefix}:pr-node:{${nodeId}}:t:${incarnation}`,
      users: (incarnation) => `${prefix}:pr-node:{${nodeId}}:u:${incarnation}`,
    }),
    presenceNodes: `${prefix}:pr-nodes`,
    presenceUser: (orgId, userId) => `${prefix}:user:${userTag(orgId, userId)}:pr`,
    presenceOrg: (orgId) => `${prefix}:pr-org:{${escapeUserPart(orgId)}}`,
    ingestNodes: `${prefix}:ingest-nodes`,
    // The user's two keys share a hash tag: one slot, so one script can read both on Redis Cluster.
    userConnections: (orgId, userId) => `${prefix}:user:${userTag(orgId, userId)}:conn`,
    revocation: (orgId, userId) => `${prefix}:user:${userTag(orgId, userId)}:revoked`,
    control: `${prefix}:control`,
    pushBucket: (bucket) => {
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= PUSH_BUCKETS) throw new RangeError(`no push bucket ${bucket}`);
      const tag = `{push-b${bucket}}`;
      return {
        due: `${prefix}:push:${tag}:due`,
        entries: `${prefix}:push:${tag}:entries`,
        seen: (entryId) => `${prefix}:push-seen:${tag}:${entryId}`,
      };
    },
    pushMembers: (room) => `${prefix}:push-members:${topicTag(prefix, room)}`,
  };
}
