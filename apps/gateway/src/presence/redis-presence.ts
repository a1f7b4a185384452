import { type PresenceMember, ProtocolError } from "@hub/events";
import type { PubSubWire, RedisClient } from "@hub/store";
import { createBroadcastEncoder, type HubKeys, type Outgoing } from "@hub/store";
import type { Logger } from "pino";
import { byJoinTime, latestMeta, type MetaOutcome, type Presence, type PresenceEntry } from "./presence.js";
import {
  type Announcement,
  JOIN_OUTCOME,
  type JoinOutcome,
  parseRegistration,
  registrationOf,
  withPresenceCommands,
} from "./presence-commands.js";
import { type PresenceNaming, presenceEvent } from "./presence-event.js";
import { indexedOrgUsers, indexedUserTopics, presenceIndex } from "./presence-index.js";
import { type RemovalContext, removeRegistration } from "./remove-registration.js";

/**
 * Heartbeats (each followed by a sweep) per TTL: a dead node's entries are gone within
 * `ttlMs * (1 + 1 / BEATS_PER_TTL)` plus a few round trips.
 */
export const BEATS_PER_TTL = 4;
/** Dead registrations one sweep removes at most; the next sweep takes the rest. */
const DEAD_NODES_PER_SWEEP = 16;

export interface RedisPresenceOptions {
  /**
   * The client the scripts run on (one Redis or a Redis Cluster); the caller owns it. A client runs
   * the commands of one slot in call order, which keeps each connection's join before its leave
   * (both are in the topic's slot).
   */
  redis: RedisClient;
  keys: HubKeys;
  /** This node's name (`HUB_NODE_ID`); a process restarted under the same name first removes what the previous one left. */
  nodeId: string;
  /**
   * Told about each user whose last connection on a topic went with a dead node's registration
   * (swept), on the node that swept it: what the node's sockets could not say when it died.
   */
  onSwept?(room: string, userId: string, orgId: string): void;
  /** How long a node may go without a heartbeat before its entries are removed (`PRESENCE_TTL_MS`). */
  ttlMs: number;
  /**
   * How the gateways share broadcasts (`HUB_PUBSUB`): announcements go out in that adapter's format,
   * with PUBLISH (`classic`) or SPUBLISH on the topic's channel (`sharded`).
   * @default "classic"
   */
  pubsub?: PubSubWire;
  /** What each topic's presence is announced as. */
  names: PresenceNaming;
  logger: Logger;
}

/**
 * Cluster-wide presence in Redis, one Redis Cluster slot per script. Each topic keeps, in its slot,
 * its counts and since hashes and each node's entries on it; each node registers an incarnation
 * (in its own slot, with the set of topics it has entries on) and heartbeats it into the registry,
 * a sorted set scored by Redis's clock. Every node sweeps: a registration whose heartbeat is older
 * than `ttlMs` is claimed by one sweeper, which removes its entries topic by topic and announces the
 * users who left, once (see `removeRegistration`). A node whose registration was claimed registers
 * a new incarnation and records its entries again; fences keep late writes of the old one out.
 * Joins and leaves announce in the script that applies them.
 */
/** The message of an announcement a silent namespace does not make: the scripts publish nothing for it. */
const SILENT = Buffer.alloc(0);

export function redisPresence({ redis, keys, nodeId, ttlMs, pubsub = "classic", names, logger, onSwept }: RedisPresenceOptions): Presence {
  const client = withPresenceCommands(redis);
  const encode = createBroadcastEncoder(keys, pubsub);
  const sharded = pubsub === "sharded" ? "1" : "0";
  const announcement = (outgoing: Outgoing): Announcement => {
    // A silent namespace's presence: the scripts publish nothing for an empty message.
    if (outgoing.clientEvent === "") return [sharded, keys.topicChannel(outgoing.topic), SILENT];
    const [encoded] = encode([outgoing]);
    if (!encoded) throw new Error("the broadcast encoder returned nothing");
    return [sharded, encoded.channel, encoded.message];
  };
  const removal: RemovalContext = { client, keys, announcement, names, ...(onSwept ? { onLeft: onSwept } : {}) };
  const node = keys.presenceNode(nodeId);

  /** This node's connections: `{topic}\n{connection id}` -> entry. The source Redis is rebuilt from after a sweep took the node for dead. */
  const entries = new Map<string, PresenceEntry>();
  /** How many of `entries` are on each topic. */
  const perTopic = new Map<string, number>();
  /** The metadata (JSON) of `entries` that set some: recorded again with them after a sweep. */
  const metas = new Map<string, string>();
  /** The incarnation this node's entries are recorded under; 0 until it registered. */
  let incarnation = 0;
  /** The topics listed under `incarnation` (or being listed): resolves false when it was sealed. */
  let listed = new Map<string, Promise<boolean>>();
  let state: "starting" | "running" | "closed" = "starting";
  let markStarted = () => {};
  /** Joins made while starting resolve with it, once they are recorded in Redis. */
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  let ticking: Promise<void> | undefined;
  let reregistering: Promise<unknown> | undefined;
  // A Redis outage stops every node's heartbeats at once: after (re)connecting, give each node a
  // TTL to beat again before taking anyone for dead, or all would leave and join again.
  let sweepFrom = Date.now() + ttlMs;
  const onReady = () => {
    sweepFrom = Date.now() + ttlMs;
  };
  redis.on("ready", onReady);
  const requireRedis = () => requireRedisOf(redis);
  const index = presenceIndex({ client, keys, nodeId, incarnation: () => incarnation, logger });

  async function tick(): Promise<void> {
    try {
      if (state === "starting") await start();
      else if (state === "running") await beat();
    } catch (error) {
      logger.warn({ err: error }, "presence heartbeat or sweep failed; retrying at the next one");
    }
  }

  async function start(): Promise<void> {
    // A restart under the same HUB_NODE_ID: whatever the previous process left is stale.
    await removeOwnRegistrations();
    if (state !== "starting") return;
    state = "running";
    try {
      await reregister();
    } finally {
      markStarted();
    }
  }

  async function beat(): Promise<void> {
    const self = registrationOf({ nodeId, incarnation });
    const [lost, ...dead] = await client.hubPresenceHeartbeat(keys.presenceNodes, self, ttlMs, DEAD_NODES_PER_SWEEP, "0");
    if (lost === 1) {
      logger.warn("this node was not registered for presence (taken for dead, or Redis lost its data); recording its entries again");
      await reregister();
    }
    if (Date.now() < sweepFrom) return;
    for (const member of dead) await removeAndLog(member, ttlMs);
  }

  /** Registers a new incarnation, then records every entry under it (moving those recorded under an older one). */
  async function register(): Promise<void> {
    const next = await client.hubPresenceRegister(node.registration);
    // Registered before anything is recorded under it, so a sweep finds whatever is.
    await client.hubPresenceHeartbeat(keys.presenceNodes, registrationOf({ nodeId, incarnation: next }), ttlMs, 0, "1");
    incarnation = next;
    listed = new Map();
    await Promise.all(
      [...entries].map(async ([field, entry]) => {
        if ((await record(next, field, entry)) === JOIN_OUTCOME.swept) return;
        // A sweep took the metadata with the entry.
        const meta = metas.get(field);
        if (meta !== undefined && entries.get(field) === entry) await sendUpdate(entry, meta);
      }),
    );
    await index.replay();
  }

  function sendUpdate({ topic, userId, orgId, connectionId }: PresenceEntry, meta: string): Promise<-1 | 0 | 1> {
    const { entries: entriesOf, meta: metaKey } = keys.presence(topic);
    const event = presenceEvent({ type: "update", names: names(topic), topic, userId, orgId, meta: JSON.parse(meta) });
    return client.hubPresenceUpdate(entriesOf(nodeId), metaKey, connectionId, userId, Date.now(), meta, ...announcement(event));
  }

  function reregister(): Promise<unknown> {
    reregistering ??= register().finally(() => {
      reregistering = undefined;
    });
    return reregistering;
  }

  async function sendJoin(field: string, entry: PresenceEntry): Promise<void> {
    for (;;) {
      await reregistering?.catch(() => {});
      const under = incarnation;
      // Not registered (its registration failed): the next one records every entry.
      if (under === 0) {
        await reregister();
        return;
      }
      if ((await record(under, field, entry)) !== JOIN_OUTCOME.swept) return;
      // Swept while alive (a pause or a partition longer than the TTL): nothing was written. A new
      // registration records every entry; one made meanwhile may not have seen this one: retry.
      if (under === incarnation) {
        await reregister();
        return;
      }
    }
  }

  /** Records one entry under an incarnation: lists its topic for the node first, so a sweep finds it. */
  async function record(under: number, field: string, entry: PresenceEntry): Promise<JoinOutcome> {
    const { topic, userId, orgId, connectionId } = entry;
    if (!(await listTopic(under, topic))) return JOIN_OUTCOME.swept;
    // Left (or joined again) while the topic was being listed: that leave found nothing to remove.
    if (entries.get(field) !== entry) return JOIN_OUTCOME.alreadyRecorded;
    const { entries: entriesOf, fence, counts, since } = keys.presence(topic);
    const now = Date.now();
    const event = presenceEvent({ type: "join", names: names(topic), topic, userId, orgId, joinedAt: now });
    return client.hubPresenceJoin(
      entriesOf(nodeId),
      fence(nodeId),
      counts,
      since,
      under,
      connectionId,
      userId,
      orgId,
      now,
      ...announcement(event),
    );
  }

  function listTopic(under: number, topic: string): Promise<boolean> {
    const add = () => client.hubPresenceAddTopic(node.registration, node.topics(under), under, topic).then((listedNow) => listedNow === 1);
    if (under !== incarnation) return add();
    const known = listed.get(topic);
    if (known) return known;
    const listing = add();
    const forget = () => {
      if (listed.get(topic) === listing) listed.delete(topic);
    };
    listing.then((ok) => ok || forget(), forget);
    listed.set(topic, listing);
    return listing;
  }

  /** Once this node has no entry left on a topic, takes it off the incarnation's topics (sent after any listing of it, so in order). */
  async function unlistIfIdle(topic: string): Promise<void> {
    if (perTopic.has(topic) || !listed.has(topic)) return;
    listed.delete(topic);
    await redis.srem(node.topics(incarnation), topic);
  }

  function remember(field: string, entry: PresenceEntry): void {
    entries.set(field, entry);
    perTopic.set(entry.topic, (perTopic.get(entry.topic) ?? 0) + 1);
    index.add(entry.orgId, entry.userId, entry.topic);
  }

  function forget(field: string, { topic, orgId, userId }: PresenceEntry): void {
    entries.delete(field);
    metas.delete(field);
    index.remove(orgId, userId, topic);
    const left = (perTopic.get(topic) ?? 1) - 1;
    if (left > 0) perTopic.set(topic, left);
    else perTopic.delete(topic);
  }

  /** Removes every registration of this node: the previous process's at startup, this one's on close. */
  async function removeOwnRegistrations(): Promise<void> {
    for (const member of await redis.zrange(keys.presenceNodes, 0, -1)) {
      if (parseRegistration(member).nodeId === nodeId) await removeAndLog(member, 0);
    }
  }

  async function removeAndLog(member: string, maxAgeMs: number): Promise<void> {
    const removed = await removeRegistration(removal, member, maxAgeMs);
    if (!removed) return;
    if (removed.nodeId !== nodeId)
      logger.warn(
        { dead_node: removed.nodeId, users_left: removed.usersLeft },
        "removed the presence entries of a node that stopped heartbeating",
      );
    else if (removed.usersLeft > 0) logger.info({ users_left: removed.usersLeft }, "removed this node's presence entries");
  }

  const timer = setInterval(() => {
    ticking ??= tick().finally(() => {
      ticking = undefined;
    });
  }, ttlMs / BEATS_PER_TTL);
  timer.unref();
  ticking = tick().finally(() => {
    ticking = undefined;
  });

  return {
    async join(entry) {
      const field = fieldOf(entry);
      if (state === "closed" || entries.has(field)) return;
      remember(field, entry);
      if (state === "starting") return started;
      await sendJoin(field, entry);
    },
    async leave(entry) {
      const field = fieldOf(entry);
      const known = entries.get(field);
      if (!known) return;
      forget(field, known);
      // While starting, nothing of it is in Redis yet.
      if (state !== "running") return;
      const { topic, userId, orgId, connectionId } = known;
      const { entries: entriesOf, counts, since, meta } = keys.presence(topic);
      const event = presenceEvent({ type: "leave", names: names(topic), topic, userId, orgId });
      await client.hubPresenceLeave(entriesOf(nodeId), counts, since, meta, connectionId, userId, ...announcement(event));
      await unlistIfIdle(topic);
    },
    async update(entry, meta): Promise<MetaOutcome> {
      const field = fieldOf(entry);
      if (state !== "running" || entries.get(field) !== entry) return "absent";
      requireRedis();
      await reregistering?.catch(() => {});
      const outcome = await sendUpdate(entry, meta);
      if (outcome === -1) return "absent";
      if (entries.get(field) === entry) metas.set(field, meta);
      return outcome === 1 ? "updated" : "unchanged";
    },
    async list(topic): Promise<PresenceMember[]> {
      requireRedis();
      const { counts, since, meta } = keys.presence(topic);
      const replies = (await redis.multi().hgetall(counts).hgetall(since).hgetall(meta).exec()) ?? [];
      const [countsReply, sinceReply, metaReply] = replies.map(([error, value]) => {
        if (error) throw error;
        return value as Record<string, string>;
      });
      const metasOf = new Map<string, { at: number; meta: string }[]>();
      for (const value of Object.values(metaReply ?? {})) {
        const [at = "0", userId = ""] = value.split("\n", 2);
        const json = value.slice(at.length + userId.length + 2);
        metasOf.set(userId, [...(metasOf.get(userId) ?? []), { at: Number(at), meta: json }]);
      }
      const members = Object.entries(countsReply ?? {}).map(([userId, count]): PresenceMember => {
        const member = { user_id: userId, connections: Number(count), joined_at: Number(sinceReply?.[userId] ?? 0) };
        const userMeta = latestMeta(metasOf.get(userId) ?? []);
        return userMeta === undefined ? member : { ...member, meta: userMeta };
      });
      return members.filter((m) => m.connections > 0).sort(byJoinTime);
    },
    async userTopics(orgId, userId) {
      requireRedis();
      return indexedUserTopics(redis, keys, orgId, userId);
    },
    async orgUsers(orgId, limit) {
      requireRedis();
      return indexedOrgUsers(redis, keys, orgId, limit);
    },
    async close() {
      if (state === "closed") return;
      const wasRunning = state === "running";
      state = "closed";
      clearInterval(timer);
      redis.off("ready", onReady);
      markStarted();
      await ticking;
      await reregistering;
      // Without Redis the entries are left for the other nodes' sweeps.
      if (wasRunning && redis.status === "ready") {
        try {
          await removeOwnRegistrations();
        } catch (error) {
          logger.warn({ err: error }, "could not remove this node's presence entries; other nodes will sweep them");
        }
      }
      entries.clear();
      perTopic.clear();
      metas.clear();
      index.clear();
    },
  };
}

/** Commands wait for Redis to come back; a query should not. */
function requireRedisOf(redis: RedisClient): void {
  if (redis.status !== "ready") throw new ProtocolError("unavailable", "Redis is unreachable; retry shortly");
}

function fieldOf({ topic, connectionId }: PresenceEntry): string {
  return `${topic}\n${connectionId}`;
}
