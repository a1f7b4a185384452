import { type PresenceMember, ProtocolError } from "@hub/events";
import type { RedisClient } from "@hub/store";
import { createBroadcastEncoder, type HubKeys, luaCommands, type Outgoing } from "@hub/store";
import type { Logger } from "pino";
import { byJoinTime, type Presence, type PresenceEntry } from "./presence.js";
import { presenceEvent } from "./presence-event.js";

/**
 * Heartbeats (each followed by a sweep) per TTL: a dead node's entries are gone within
 * `ttlMs * (1 + 1 / BEATS_PER_TTL)` plus a round trip.
 */
export const BEATS_PER_TTL = 4;
/** Dead nodes one sweep removes at most; the next sweep takes the rest. */
const DEAD_NODES_PER_SWEEP = 16;

export interface RedisPresenceOptions {
  /**
   * The client the scripts run on; the caller owns it. One client runs commands in call order,
   * which keeps each connection's join before its leave.
   */
  redis: RedisClient;
  keys: HubKeys;
  /** This node's name (`HUB_NODE_ID`); a process restarted under the same name first removes what the previous one left. */
  nodeId: string;
  /** How long a node may go without a heartbeat before its entries are removed (`PRESENCE_TTL_MS`). */
  ttlMs: number;
  logger: Logger;
}

type Broadcast = Array<string | Buffer>;

/** What join-4.lua answers. */
const JOIN_OUTCOME = { notRegistered: -1, alreadyRecorded: 0, recorded: 1, announced: 2 } as const;

interface PresenceCommands {
  hubPresenceJoin(
    nodes: string,
    node: string,
    counts: string,
    since: string,
    nodeId: string,
    field: string,
    value: string,
    userId: string,
    now: number,
    ...broadcast: Broadcast
  ): Promise<(typeof JOIN_OUTCOME)[keyof typeof JOIN_OUTCOME]>;
  hubPresenceLeave(node: string, counts: string, since: string, field: string, userId: string, ...broadcast: Broadcast): Promise<0 | 1 | 2>;
  hubPresenceHeartbeat(nodes: string, nodeId: string, maxAgeMs: number, limit: number): Promise<[added: 0 | 1, ...dead: string[]]>;
  hubPresenceRemoveNode(
    nodes: string,
    node: string,
    nodeId: string,
    maxAgeMs: number,
    ...topicKeyParts: string[]
  ): Promise<[removed: 0 | 1, ...left: string[]]>;
  hubPresenceAnnounceLeave(counts: string, since: string, userId: string, stamp: string, ...broadcast: Broadcast): Promise<0 | 1>;
}

const withPresenceCommands = luaCommands<PresenceCommands>(new URL("./lua/", import.meta.url), {
  hubPresenceJoin: "join-4",
  hubPresenceLeave: "leave-3",
  hubPresenceHeartbeat: "heartbeat-1",
  hubPresenceRemoveNode: "removeNode-2",
  hubPresenceAnnounceLeave: "announceLeave-2",
});

/**
 * Cluster-wide presence in Redis. Each node keeps its entries in a hash of its own and heartbeats
 * into a sorted set scored by Redis's clock; every node sweeps: the entries of a node whose
 * heartbeat is older than `ttlMs` are removed by one script (so by one sweeper) and the users who
 * left with them are announced once. Joins and leaves announce in the script that applies them.
 */
export function redisPresence({ redis, keys, nodeId, ttlMs, logger }: RedisPresenceOptions): Presence {
  const client = withPresenceCommands(redis);
  const encode = createBroadcastEncoder(keys);
  const broadcast = (outgoing: Outgoing): Broadcast => encode([outgoing]).flatMap(({ channel, message }) => [channel, message]);
  const topicKeyParts = splitTopicKeys(keys);
  const nodeKey = keys.presenceNode(nodeId);

  /** This node's connections: `{topic}\n{connection id}` -> entry. The source Redis is rebuilt from after a sweep took the node for dead. */
  const entries = new Map<string, PresenceEntry>();
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
    await removeNode(nodeId, 0);
    if (state !== "starting") return;
    state = "running";
    try {
      await register();
    } finally {
      markStarted();
    }
  }

  async function beat(): Promise<void> {
    const [added, ...dead] = await client.hubPresenceHeartbeat(keys.presenceNodes, nodeId, ttlMs, DEAD_NODES_PER_SWEEP);
    if (added === 1) {
      logger.warn("this node was not registered for presence (taken for dead, or Redis lost its data); recording its entries again");
      await reregister();
    }
    if (Date.now() < sweepFrom) return;
    for (const node of dead) await removeNode(node, ttlMs);
  }

  /** Heartbeats, then records every entry again (already recorded ones are left as they are). Sends before it awaits. */
  function register(): Promise<unknown> {
    const sent: Array<Promise<unknown>> = [client.hubPresenceHeartbeat(keys.presenceNodes, nodeId, ttlMs, 0)];
    for (const [field, entry] of entries) sent.push(sendJoin(field, entry));
    return Promise.all(sent);
  }

  function reregister(): Promise<unknown> {
    reregistering ??= register().finally(() => {
      reregistering = undefined;
    });
    return reregistering;
  }

  async function sendJoin(field: string, { topic, userId, orgId }: PresenceEntry): Promise<void> {
    const { counts, since } = keys.presence(topic);
    const now = Date.now();
    const event = presenceEvent({ type: "presence.join", topic, userId, orgId, joinedAt: now });
    const value = `${userId}\n${orgId}`;
    const result = await client.hubPresenceJoin(
      keys.presenceNodes,
      nodeKey,
      counts,
      since,
      nodeId,
      field,
      value,
      userId,
      now,
      ...broadcast(event),
    );
    // Swept while alive (a pause or a partition longer than the TTL): nothing was written.
    if (result === JOIN_OUTCOME.notRegistered) await reregister();
  }

  /** Removes a node's entries (a dead one only while its heartbeat is older than `maxAgeMs`; 0: whatever it is) and announces who left. */
  async function removeNode(node: string, maxAgeMs: number): Promise<void> {
    const [removed, ...left] = await client.hubPresenceRemoveNode(
      keys.presenceNodes,
      keys.presenceNode(node),
      node,
      maxAgeMs,
      ...topicKeyParts,
    );
    if (removed !== 1) return;
    const announced: Array<Promise<unknown>> = [];
    for (let i = 0; i + 3 < left.length; i += 4) {
      const [topic, userId, orgId, stamp] = left.slice(i, i + 4) as [string, string, string, string];
      const { counts, since } = keys.presence(topic);
      const event = presenceEvent({ type: "presence.leave", topic, userId, orgId });
      announced.push(client.hubPresenceAnnounceLeave(counts, since, userId, stamp, ...broadcast(event)));
    }
    await Promise.all(announced);
    if (node !== nodeId)
      logger.warn({ dead_node: node, users_left: left.length / 4 }, "removed the presence entries of a node that stopped heartbeating");
    else if (left.length > 0) logger.info({ users_left: left.length / 4 }, "removed this node's presence entries");
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
      entries.set(field, entry);
      if (state === "starting") return started;
      await sendJoin(field, entry);
    },
    async leave(entry) {
      const field = fieldOf(entry);
      const known = entries.get(field);
      if (!known) return;
      entries.delete(field);
      // While starting, nothing of it is in Redis yet.
      if (state !== "running") return;
      const { counts, since } = keys.presence(known.topic);
      const event = presenceEvent({ type: "presence.leave", topic: known.topic, userId: known.userId, orgId: known.orgId });
      await client.hubPresenceLeave(nodeKey, counts, since, field, known.userId, ...broadcast(event));
    },
    async list(topic): Promise<PresenceMember[]> {
      // Commands wait for Redis to come back; a query should not.
      if (redis.status !== "ready") throw new ProtocolError("unavailable", "Redis is unreachable; retry shortly");
      const { counts, since } = keys.presence(topic);
      const replies = (await redis.multi().hgetall(counts).hgetall(since).exec()) ?? [];
      const [countsReply, sinceReply] = replies.map(([error, value]) => {
        if (error) throw error;
        return value as Record<string, string>;
      });
      const members = Object.entries(countsReply ?? {}).map(([userId, count]) => ({
        user_id: userId,
        connections: Number(count),
        joined_at: Number(sinceReply?.[userId] ?? 0),
      }));
      return members.filter((m) => m.connections > 0).sort(byJoinTime);
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
          await removeNode(nodeId, 0);
        } catch (error) {
          logger.warn({ err: error }, "could not remove this node's presence entries; other nodes will sweep them");
        }
      }
      entries.clear();
    },
  };
}

function fieldOf({ topic, connectionId }: PresenceEntry): string {
  return `${topic}\n${connectionId}`;
}

/**
 * `keys.presence(topic)` as (before, after) parts around the topic, for the script that makes the
 * keys of the topics it finds in a node's entries. A newline never occurs in a topic.
 */
function splitTopicKeys(keys: HubKeys): string[] {
  const { counts, since } = keys.presence("\n");
  const parts = [...counts.split("\n"), ...since.split("\n")];
  if (parts.length !== 4) throw new Error("presence keys must contain the topic once");
  return parts;
}
