import { isCluster } from "@hub/runtime";
import type { RedisClient } from "@hub/store";
import { type HubKeys, luaCommands } from "@hub/store";
import calculateSlot from "cluster-key-slot";
import type { Logger } from "pino";
import {
  type Admission,
  type ControlMessage,
  ENTRY_TTL_MS,
  issuedBefore,
  parseControl,
  REVOCATION_TTL_MS,
  type UserSessions,
} from "./user-sessions.js";

interface SessionCommands {
  hubAdmitConnection(
    connections: string,
    revocation: string,
    id: string,
    issuedAtMs: number,
    max: number,
    ttlMs: number,
  ): Promise<1 | 0 | -1>;
  /** `renewConnections-n`: the key count, the keys, the TTL, each key's id count, then the ids. */
  hubRenewConnections(numberOfKeys: number, ...args: Array<string | number>): Promise<number>;
  hubRevokeUser(revocation: string, before: number, ttlMs: number, channel: string, message: string): Promise<number>;
  hubUserOnline(connections: string): Promise<0 | 1>;
}

const withSessionCommands = luaCommands<SessionCommands>(new URL("./lua/", import.meta.url), {
  hubAdmitConnection: "admitConnection-2",
  hubRenewConnections: "renewConnections-n",
  hubRevokeUser: "revokeUser-1",
  hubUserOnline: "userOnline-1",
});

const ADMISSIONS: Record<1 | 0 | -1, Admission> = { 1: "admitted", 0: "too_many", [-1]: "revoked" };

export interface RedisUserSessionsOptions {
  /** Commands go here. */
  redis: RedisClient;
  /** A connection of its own for the control channel (it is put in subscriber mode; its owner closes it). */
  subscriber: RedisClient;
  keys: HubKeys;
  logger: Logger;
}

/**
 * Users' connections and revocations in Redis (lua/*.lua), control messages on one pub/sub channel.
 * On Redis Cluster each script touches the keys of one user, which share the `{org/user}` hash tag
 * (one slot); the control channel is classic pub/sub, which the cluster forwards to every node, so a
 * `Cluster` subscriber hears it whichever node it is connected to (also a revocation's PUBLISH from
 * inside its script, on the master of the user's slot).
 */
export function redisUserSessions({ redis, subscriber, keys, logger }: RedisUserSessionsOptions): UserSessions {
  const client = withSessionCommands(redis);
  const listeners: Array<(message: ControlMessage) => void> = [];
  subscriber.on("message", (channel: string, text: string) => {
    if (channel !== keys.control) return;
    const message = parseControl(text);
    if (!message) {
      logger.warn({ channel }, "unreadable control message ignored");
      return;
    }
    for (const listener of listeners) listener(message);
  });
  // ioredis subscribes again after a reconnect.
  subscriber.subscribe(keys.control).catch((error: unknown) => logger.error({ err: error }, "control channel SUBSCRIBE failed"));

  return {
    async admit(user, connectionId, max) {
      const issuedAtMs = user.issuedAt === undefined ? -1 : user.issuedAt * 1000;
      const code = await client.hubAdmitConnection(
        keys.userConnections(user.orgId, user.userId),
        keys.revocation(user.orgId, user.userId),
        connectionId,
        issuedAtMs,
        max,
        ENTRY_TTL_MS,
      );
      return ADMISSIONS[code];
    },
    async connected(orgId, userId) {
      const expiries = await redis.hvals(keys.userConnections(orgId, userId));
      const now = Date.now();
      return expiries.some((expiry) => Number(expiry) > now);
    },
    async release({ orgId, userId, connectionId }) {
      await redis.hdel(keys.userConnections(orgId, userId), connectionId);
    },
    async renew(connections) {
      const byUser = new Map<string, string[]>();
      for (const { orgId, userId, connectionId } of connections) {
        const key = keys.userConnections(orgId, userId);
        const ids = byUser.get(key);
        if (ids) ids.push(connectionId);
        else byUser.set(key, [connectionId]);
      }
      // One script call per group of users in one slot (every user on one Redis), pipelined.
      const calls = renewalCalls(byUser, isCluster(redis));
      await Promise.all(calls.map((users) => client.hubRenewConnections(...renewalArgs(users))));
    },
    async online(orgId, userId) {
      return (await client.hubUserOnline(keys.userConnections(orgId, userId))) === 1;
    },
    async revoked(user) {
      const before = await redis.get(keys.revocation(user.orgId, user.userId));
      return before !== null && issuedBefore(user.issuedAt, Number(before));
    },
    async revoke(orgId, userId, before) {
      const message: ControlMessage = { kind: "revoke", orgId, userId, before };
      await client.hubRevokeUser(keys.revocation(orgId, userId), before, REVOCATION_TTL_MS, keys.control, JSON.stringify(message));
    },
    async disconnect(orgId, userId) {
      const message: ControlMessage = { kind: "disconnect", orgId, userId };
      await redis.publish(keys.control, JSON.stringify(message));
    },
    onControl(listener) {
      listeners.push(listener);
    },
  };
}

/** At most this many users' hashes per renewal script call. */
const USERS_PER_RENEWAL = 200;

/** Users' connection hashes grouped for one script call each: by slot on a Redis Cluster, in chunks. */
function renewalCalls(byUser: Map<string, string[]>, cluster: boolean): Array<Array<[string, string[]]>> {
  const groups = new Map<number, Array<[string, string[]]>>();
  for (const entry of byUser) {
    const slot = cluster ? calculateSlot(entry[0]) : 0;
    const group = groups.get(slot);
    if (group) group.push(entry);
    else groups.set(slot, [entry]);
  }
  const calls: Array<Array<[string, string[]]>> = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += USERS_PER_RENEWAL) calls.push(group.slice(i, i + USERS_PER_RENEWAL));
  }
  return calls;
}

/** `renewConnections-n`'s arguments for one call. */
function renewalArgs(users: Array<[string, string[]]>): [number, ...Array<string | number>] {
  return [
    users.length,
    ...users.map(([key]) => key),
    ENTRY_TTL_MS,
    ...users.map(([, ids]) => ids.length),
    ...users.flatMap(([, ids]) => ids),
  ];
}
