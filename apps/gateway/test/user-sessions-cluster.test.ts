import { type RedisCluster, type RedisServer, startRedis, startRedisCluster, until } from "@hub/devkit";
import type { UserPrincipal } from "@hub/events";
import { hubKeys } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisUserSessions } from "../src/protection/redis-user-sessions.js";
import type { ControlMessage, UserSessions } from "../src/protection/user-sessions.js";

/**
 * Users' connections and revocations on a 6-process Redis Cluster, through ioredis `Cluster` clients
 * as two gateways hold them: the scripts (each touching one user's `{org/user}` slot) run, the
 * connection cap is shared, and control messages published on any master reach every gateway's
 * subscriber.
 */

const keys = hubKeys("s");
let cluster: RedisCluster;
const clients: Cluster[] = [];
/** Two gateways: commands and a control subscriber each. */
const gateways: Array<{ sessions: UserSessions; seen: ControlMessage[] }> = [];

const connect = () => {
  const client = new Cluster(cluster.startupNodes);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  cluster = await startRedisCluster();
  for (let i = 0; i < 2; i++) {
    const seen: ControlMessage[] = [];
    const sessions = redisUserSessions({ redis: connect(), subscriber: connect(), keys, logger: pino({ level: "silent" }) });
    sessions.onControl((message) => seen.push(message));
    gateways.push({ sessions, seen });
  }
  // Subscribing is not awaited by the sessions: probe until both gateways hear the channel.
  let probes = 0;
  await until("both gateways to hear the control channel", async () => {
    await gateways[0]?.sessions.disconnect("probe", String(++probes));
    return gateways.every((g) => g.seen.some((m) => m.orgId === "probe"));
  });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.quit()));
  await cluster?.stop();
});

const gateway = (i: number) => gateways[i] as { sessions: UserSessions; seen: ControlMessage[] };
const user = (orgId: string, userId: string, issuedAt: number): UserPrincipal => ({
  kind: "user",
  orgId,
  userId,
  roles: [],
  exp: issuedAt + 3_600,
  issuedAt,
});
/** Users whose keys are served by different masters. */
async function usersOnSeveralMasters(count: number): Promise<Array<{ orgId: string; userId: string }>> {
  const users = Array.from({ length: count }, (_, i) => ({ orgId: `o${i}`, userId: `u${i}` }));
  const masters = await Promise.all(users.map((u) => cluster.masterOf(keys.userConnections(u.orgId, u.userId))));
  expect(new Set(masters.map((node) => node.port)).size).toBeGreaterThan(1);
  return users;
}

describe("user sessions on Redis Cluster", () => {
  it("admits a user's connections up to the cap across gateways, renews and releases them", async () => {
    const users = await usersOnSeveralMasters(6);
    const now = Math.floor(Date.now() / 1000);
    for (const { orgId, userId } of users) {
      const u = user(orgId, userId, now);
      expect(await gateway(0).sessions.admit(u, "c1", 2)).toBe("admitted");
      expect(await gateway(1).sessions.admit(u, "c2", 2)).toBe("admitted");
      expect(await gateway(1).sessions.admit(u, "c3", 2)).toBe("too_many");
      // The same connection again is not one more.
      expect(await gateway(0).sessions.admit(u, "c1", 2)).toBe("admitted");

      const connections = clients[0] as Cluster;
      const key = keys.userConnections(orgId, userId);
      const before = Number(await connections.hget(key, "c1"));
      await until("a renewal to move the entry's expiry", async () => {
        await gateway(0).sessions.renew([{ orgId, userId, connectionId: "c1" }]);
        return Number(await connections.hget(key, "c1")) > before;
      });
      await gateway(1).sessions.release({ orgId, userId, connectionId: "c2" });
      // A released connection is not brought back by a renewal.
      await gateway(1).sessions.renew([{ orgId, userId, connectionId: "c2" }]);
      expect(await connections.hkeys(key)).toEqual(["c1"]);
      expect(await gateway(1).sessions.admit(u, "c3", 2)).toBe("admitted");
    }
  });

  it("revokes a user's tokens on every gateway, from any master", async () => {
    const users = await usersOnSeveralMasters(6);
    const issuedAt = Math.floor(Date.now() / 1000) - 60;
    for (const { orgId, userId } of users) {
      expect(await gateway(1).sessions.admit(user(orgId, `${userId}-r`, issuedAt), "c1", 5)).toBe("admitted");
      const before = Date.now();
      await gateway(0).sessions.revoke(orgId, `${userId}-r`, before);
      // The revocation script PUBLISHes on the master of the user's slot; both subscribers hear it.
      await until("both gateways to hear the revocation", async () =>
        gateways.every((g) =>
          g.seen.some((m) => m.kind === "revoke" && m.orgId === orgId && m.userId === `${userId}-r` && m.before === before),
        ),
      );
      expect(await gateway(1).sessions.revoked(user(orgId, `${userId}-r`, issuedAt))).toBe(true);
      expect(await gateway(1).sessions.admit(user(orgId, `${userId}-r`, issuedAt), "c2", 5)).toBe("revoked");
      expect(await gateway(1).sessions.admit(user(orgId, `${userId}-r`, Math.ceil(before / 1000) + 1), "c2", 5)).toBe("admitted");
      // An earlier revocation never moves the time back.
      await gateway(1).sessions.revoke(orgId, `${userId}-r`, before - 10_000);
      expect(await gateway(0).sessions.revoked(user(orgId, `${userId}-r`, Math.floor(before / 1000) - 5))).toBe(true);
    }
  });

  it("relays a disconnect to every gateway", async () => {
    await gateway(1).sessions.disconnect("42", "u-disconnect");
    await until("both gateways to hear the disconnect", async () =>
      gateways.every((g) => g.seen.some((m) => m.kind === "disconnect" && m.orgId === "42" && m.userId === "u-disconnect")),
    );
  });
});

/**
 * The renewal every gateway runs every 20 s for all its users' connections, in one go: one script
 * call per slot on a Cluster, per 200 users on one Redis. Each kept entry's expiry and each hash's
 * TTL move; a released connection is not brought back.
 */
describe("renewing many users' connections at once", () => {
  let single: RedisServer;
  const own: Redis[] = [];

  beforeAll(async () => {
    single = await startRedis();
  });

  afterAll(async () => {
    await Promise.all(own.map((client) => client.quit()));
    await single?.stop();
  });

  async function renewsInBulk(sessions: UserSessions, redis: Redis | Cluster, prefix: string): Promise<void> {
    const users = Array.from({ length: 450 }, (_, i) => ({ orgId: `${prefix}o${i % 7}`, userId: `${prefix}u${i}` }));
    const now = Math.floor(Date.now() / 1000);
    for (const { orgId, userId } of users) {
      expect(await sessions.admit(user(orgId, userId, now), "c1", 5)).toBe("admitted");
      expect(await sessions.admit(user(orgId, userId, now), "c2", 5)).toBe("admitted");
      await sessions.release({ orgId, userId, connectionId: "c2" });
      const key = keys.userConnections(orgId, userId);
      // Old entries: a renewal must move both the entry and the hash's TTL.
      await redis.hset(key, "c1", "1");
      await redis.pexpire(key, 5_000);
    }
    await sessions.renew(users.flatMap(({ orgId, userId }) => ["c1", "c2"].map((connectionId) => ({ orgId, userId, connectionId }))));
    for (const { orgId, userId } of users) {
      const key = keys.userConnections(orgId, userId);
      expect(await redis.hkeys(key)).toEqual(["c1"]);
      expect(Number(await redis.hget(key, "c1"))).toBeGreaterThan(Date.now());
      expect(await redis.pttl(key)).toBeGreaterThan(5_000);
    }
  }

  it("on one Redis, in calls of at most 200 users", async () => {
    const redis = new Redis(single.url);
    const subscriber = new Redis(single.url);
    own.push(redis, subscriber);
    const sessions = redisUserSessions({ redis, subscriber, keys, logger: pino({ level: "silent" }) });
    await renewsInBulk(sessions, redis, "single-");
  });

  it("on a Redis Cluster, one call per slot", async () => {
    await renewsInBulk(gateway(0).sessions, clients[0] as Cluster, "cluster-");
  });
});
