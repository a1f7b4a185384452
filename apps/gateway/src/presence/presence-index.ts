import type { HubKeys, RedisClient } from "@hub/store";
import type { Logger } from "pino";
import { earliestFirst, type OrgPresence, type PresenceSince } from "./presence.js";
import { type PresenceCommands, registrationOf } from "./presence-commands.js";

/** Members of an org's index read per round trip while answering `orgUsers`. */
const ORG_PAGE = 1_000;

export interface PresenceIndexOptions {
  client: RedisClient & PresenceCommands;
  keys: HubKeys;
  nodeId: string;
  /** The incarnation this node's entries are recorded under now; 0 while unregistered. */
  incarnation(): number;
  logger: Logger;
}

/**
 * This node's share of the per-user and per-org presence indexes (`keys.presenceUser`,
 * `keys.presenceOrg`), which answer the HTTP presence queries without visiting every topic. Every
 * field and member names the node registration that wrote it, and the registration lists the user
 * in `presenceNode(..).users` before writing, so the sweep that removes a registration removes its
 * share (`dropIndexedUsers`). The writes of one user run in order, each from this node's state at
 * the time: whatever the interleaving of joins and leaves, the last write matches it.
 */
export interface PresenceIndex {
  /** A connection of the user arrived on the topic (room). */
  add(orgId: string, userId: string, room: string): void;
  /** A connection of the user left the topic (room). */
  remove(orgId: string, userId: string, room: string): void;
  /** Writes every user again under the current incarnation (after registering anew). */
  replay(): Promise<void>;
  /** Forgets this node's state (its registrations' removal removes what Redis holds). */
  clear(): void;
}

interface Here {
  connections: number;
  since: number;
}

/** Tracks this node's connections per user and topic and keeps its share of the indexes in Redis. */
export function presenceIndex({ client, keys, nodeId, incarnation, logger }: PresenceIndexOptions): PresenceIndex {
  /** `{org id}\n{user id}` -> room -> this node's connections of the user there. */
  const users = new Map<string, Map<string, Here>>();
  /** One chain of writes per user. */
  const chains = new Map<string, Promise<void>>();
  /** Users listed under `listedUnder`. */
  let listed = new Set<string>();
  let listedUnder = 0;

  function enqueue(user: string, write: () => Promise<void>): Promise<void> {
    const next = (chains.get(user) ?? Promise.resolve()).then(write).catch((error: unknown) => {
      logger.warn({ err: error }, "presence index write failed; the next change of the user or a sweep repairs it");
    });
    chains.set(user, next);
    void next.finally(() => {
      if (chains.get(user) === next) chains.delete(user);
    });
    return next;
  }

  /** Writes the user's field for one room (and their org member) as this node's state has it now. */
  async function sync(user: string, room: string): Promise<void> {
    const under = incarnation();
    if (under === 0) return;
    const [orgId = "", userId = ""] = user.split("\n");
    const node = keys.presenceNode(nodeId);
    const field = `${registrationOf({ nodeId, incarnation: under })}\n${room}`;
    const member = `${userId}\n${registrationOf({ nodeId, incarnation: under })}`;
    if (listedUnder !== under) {
      listed = new Set();
      listedUnder = under;
    }
    const rooms = users.get(user);
    const here = rooms?.get(room);
    if (here) {
      if (!listed.has(user)) {
        // Sealed: this incarnation is being removed, and the next one replays every user.
        if ((await client.hubPresenceAddTopic(node.registration, node.users(under), under, user)) !== 1) return;
        listed.add(user);
      }
      await client.hset(keys.presenceUser(orgId, userId), field, here.since);
      // LT: a member keeps the earliest since of the user's connections on this node.
      await client.zadd(keys.presenceOrg(orgId), "LT", here.since, member);
      return;
    }
    await client.hdel(keys.presenceUser(orgId, userId), field);
    if (rooms) return;
    await client.zrem(keys.presenceOrg(orgId), member);
    if (listed.delete(user)) await client.srem(node.users(under), user);
  }

  return {
    add(orgId, userId, room) {
      const user = `${orgId}\n${userId}`;
      const rooms = users.get(user) ?? new Map<string, Here>();
      users.set(user, rooms);
      const here = rooms.get(room);
      if (here) {
        here.connections += 1;
        return;
      }
      rooms.set(room, { connections: 1, since: Date.now() });
      void enqueue(user, () => sync(user, room));
    },
    remove(orgId, userId, room) {
      const user = `${orgId}\n${userId}`;
      const rooms = users.get(user);
      const here = rooms?.get(room);
      if (!rooms || !here) return;
      here.connections -= 1;
      if (here.connections > 0) return;
      rooms.delete(room);
      if (rooms.size === 0) users.delete(user);
      void enqueue(user, () => sync(user, room));
    },
    async replay() {
      const writes: Promise<void>[] = [];
      for (const [user, rooms] of users) for (const room of rooms.keys()) writes.push(enqueue(user, () => sync(user, room)));
      await Promise.all(writes);
    },
    clear() {
      users.clear();
    },
  };
}

/**
 * Removes a registration's share of the indexes: run by the sweep that removes the registration,
 * after sealing it (no user is listed under it any more). Safe to repeat.
 */
export async function dropIndexedUsers(
  client: RedisClient & PresenceCommands,
  keys: HubKeys,
  registration: { nodeId: string; incarnation: number },
): Promise<void> {
  const usersKey = keys.presenceNode(registration.nodeId).users(registration.incarnation);
  const self = registrationOf(registration);
  for (const user of await client.smembers(usersKey)) {
    const [orgId = "", userId = ""] = user.split("\n");
    await client.hubPresenceDropFields(keys.presenceUser(orgId, userId), `${self}\n`);
    await client.zrem(keys.presenceOrg(orgId), `${userId}\n${self}`);
  }
  await client.del(usersKey);
}

/** The registrations in `keys.presenceNodes`: alive (heartbeating) or being removed (claimed). */
async function registrations(client: RedisClient, keys: HubKeys): Promise<{ alive: Set<string>; known: Set<string> }> {
  const flat = await client.zrange(keys.presenceNodes, 0, -1, "WITHSCORES");
  const alive = new Set<string>();
  const known = new Set<string>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const member = flat[i] as string;
    known.add(member);
    if (Number(flat[i + 1]) >= 0) alive.add(member);
  }
  return { alive, known };
}

/** Splits `{node id}\n{incarnation}\n{rest}` (the node id has no newline). */
function splitRegistration(value: string): [registration: string, rest: string] {
  const first = value.indexOf("\n");
  const second = value.indexOf("\n", first + 1);
  return [value.slice(0, second), value.slice(second + 1)];
}

/**
 * The topics (rooms) a user is present on, from `keys.presenceUser`. Fields of registrations being
 * removed are left out; those of a registration no longer registered at all (a write that arrived
 * after its sweep) are removed.
 */
export async function indexedUserTopics(client: RedisClient, keys: HubKeys, orgId: string, userId: string): Promise<PresenceSince[]> {
  const hash = keys.presenceUser(orgId, userId);
  // Read after the fields: a field's registration was registered before the field was written.
  const fields = await client.hgetall(hash);
  const { alive, known } = await registrations(client, keys);
  const sinceOf = new Map<string, number>();
  const stale: string[] = [];
  for (const [field, since] of Object.entries(fields)) {
    const [registration, room] = splitRegistration(field);
    if (!known.has(registration)) stale.push(field);
    if (!alive.has(registration)) continue;
    sinceOf.set(room, Math.min(Number(since), sinceOf.get(room) ?? Number.POSITIVE_INFINITY));
  }
  if (stale.length > 0) await client.hdel(hash, ...stale);
  return earliestFirst(sinceOf, Number.POSITIVE_INFINITY).users;
}

/** The users of an org present anywhere, earliest first, at most `limit`, from `keys.presenceOrg` (filtered like `indexedUserTopics`). */
export async function indexedOrgUsers(client: RedisClient, keys: HubKeys, orgId: string, limit: number): Promise<OrgPresence> {
  const key = keys.presenceOrg(orgId);
  const sinceOf = new Map<string, number>();
  const stale: string[] = [];
  for (let start = 0; sinceOf.size <= limit; start += ORG_PAGE) {
    const page = await client.zrange(key, start, start + ORG_PAGE - 1, "WITHSCORES");
    // Read after the page, as in `indexedUserTopics`.
    const { alive, known } = await registrations(client, keys);
    for (let i = 0; i + 1 < page.length; i += 2) {
      const member = page[i] as string;
      const at = member.indexOf("\n");
      const userId = member.slice(0, at);
      const registration = member.slice(at + 1);
      if (!known.has(registration)) stale.push(member);
      if (!alive.has(registration) || sinceOf.has(userId)) continue;
      sinceOf.set(userId, Number(page[i + 1]));
    }
    if (page.length < ORG_PAGE * 2) break;
  }
  if (stale.length > 0) await client.zrem(key, ...stale);
  return earliestFirst(sinceOf, limit);
}
