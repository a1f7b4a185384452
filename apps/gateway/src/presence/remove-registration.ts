import type { HubKeys, Outgoing, RedisClient } from "@hub/store";
import { type Announcement, type PresenceCommands, parseRegistration } from "./presence-commands.js";
import { type PresenceNaming, presenceEvent } from "./presence-event.js";
import { dropIndexedUsers } from "./presence-index.js";

/**
 * How long a removed incarnation's fences (and its node's registration hash, once no incarnation of
 * it is alive) are kept: a write of a removed incarnation arriving later than this (a node paused
 * for a day in the middle of a join) would be recorded and missed by the sweeps.
 */
export const FENCE_TTL_MS = 24 * 60 * 60 * 1000;

/** A sweep reads a topic's entries again at most this often when late joins keep changing them. */
const ATTEMPTS_PER_TOPIC = 3;

export interface RemovalContext {
  client: RedisClient & PresenceCommands;
  keys: HubKeys;
  names: PresenceNaming;
  /** Encodes an announcement for the gateways' pub/sub mode. */
  announcement(outgoing: Outgoing): Announcement;
  /** Told about each user whose last connection on a topic (a room) went with a removed registration. */
  onLeft?(room: string, userId: string, orgId: string): void;
}

export interface Removal {
  nodeId: string;
  /** Users whose last connection on a topic went with the registration (one per topic they left). */
  usersLeft: number;
}

/**
 * Removes one registration of a node (a dead one only while its heartbeat, or the claim of a sweeper
 * that stopped, is older than `maxAgeMs`; 0: whatever it is) with every entry recorded under it, and
 * announces who left. No script can reach every topic on Redis Cluster, so it goes step by step, each
 * step one slot and safe to repeat: claim the registration (its node's heartbeats are then refused
 * and the node registers anew), seal the incarnation and read its topics, remove its share of the
 * user and org indexes, remove its entries from each topic (announcing there, once), then forget its
 * topics and the registration. A sweeper that
 * dies midway leaves the claim, which another takes over a TTL later.
 *
 * Resolves undefined when the registration was left alone (alive, claimed by another sweeper, or gone).
 */
export async function removeRegistration(context: RemovalContext, member: string, maxAgeMs: number): Promise<Removal | undefined> {
  const { client, keys } = context;
  if ((await client.hubPresenceClaim(keys.presenceNodes, member, maxAgeMs)) !== 1) return undefined;
  const { nodeId, incarnation } = parseRegistration(member);
  const node = keys.presenceNode(nodeId);
  const topics = await client.hubPresenceSeal(node.registration, node.topics(incarnation), incarnation, FENCE_TTL_MS);
  // The indexes first: once the leaves are announced, the HTTP answers agree with them.
  await dropIndexedUsers(client, keys, { nodeId, incarnation });
  const left = await Promise.all(topics.map((topic) => removeFromTopic(context, topic, nodeId, incarnation)));
  await client.del(node.topics(incarnation));
  await client.zrem(keys.presenceNodes, member);
  return { nodeId, usersLeft: left.reduce((sum, n) => sum + n, 0) };
}

/** Removes the entries an incarnation holds on one topic; resolves with how many users left it. */
async function removeFromTopic(
  { client, keys, announcement, names, onLeft }: RemovalContext,
  topic: string,
  nodeId: string,
  incarnation: number,
): Promise<number> {
  const { entries, fence, counts, since, meta } = keys.presence(topic);
  for (let attempt = 1; ; attempt++) {
    // The leave of each user who may go: the script announces those whose last connection goes.
    const orgOf = new Map<string, string>();
    for (const value of await client.hvals(entries(nodeId))) {
      const [userId = "", orgId = ""] = value.split("\n");
      orgOf.set(userId, orgId);
    }
    const leaves = [...orgOf].map(
      ([userId, orgId]) => [userId, announcement(presenceEvent({ type: "leave", names: names(topic), topic, userId, orgId }))] as const,
    );
    // Every announcement of a topic goes out the same way on the same channel (none: nothing is published).
    const [sharded, channel] = leaves[0]?.[1] ?? ["0", keys.topicChannel(topic)];
    const messages = leaves.flatMap(([userId, [, , message]]) => [userId, message]);
    const [status, ...announced] = await client.hubPresenceRemoveTopic(
      entries(nodeId),
      fence(nodeId),
      counts,
      since,
      meta,
      incarnation,
      FENCE_TTL_MS,
      sharded,
      channel,
      ...messages,
    );
    if (status === 1) {
      for (const userId of announced) onLeft?.(topic, String(userId), orgOf.get(String(userId)) ?? "");
      return announced.length;
    }
    if (attempt === ATTEMPTS_PER_TOPIC) throw new Error(`presence entries of ${nodeId} on ${topic} kept changing during the sweep`);
  }
}
