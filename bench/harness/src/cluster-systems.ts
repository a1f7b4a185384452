import type { HubProcess, RedisCluster } from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import { Cluster } from "ioredis";
import type { WireProtocol } from "./load/wire-connection.js";
import { BENCH_ORG, type BenchPayload, closeAll, InFlight, spawnBaselines, spawnGateways } from "./systems.js";

/**
 * The systems the cluster-scaling scenario runs on a Redis Cluster: the hub's gateways with
 * `HUB_PUBSUB=classic` (every gateway PSUBSCRIBEs to every broadcast) and `sharded` (SSUBSCRIBE per
 * topic with members here), and plain Socket.IO with `@socket.io/redis-adapter`'s sharded adapter.
 */
export type ClusterSystemName = "hub-classic" | "hub-sharded" | "plain-sharded";

export const CLUSTER_SYSTEMS: ClusterSystemName[] = ["hub-classic", "hub-sharded", "plain-sharded"];

/** A system running on the cluster: its servers, how clients reach them, its producer and its pub/sub counters. */
export interface ClusterSystem {
  name: ClusterSystemName;
  /** WebSocket URLs, one per server process. */
  urls: string[];
  serverPids: number[];
  protocol: WireProtocol;
  /** Publishes one event to user `user`'s own topic (`notifications:{user}`); errors are counted, not thrown. */
  publishToUser(user: string, payload: BenchPayload): void;
  /** Resolves once every publish so far has settled; returns the number that failed. */
  settle(): Promise<number>;
  /**
   * Room broadcasts each server has received from Redis pub/sub since it started: the hub's
   * `hub_pubsub_messages_total`, the plain server's count of `smessage`s (`/stats`).
   */
  pubsubMessages(): Promise<number[]>;
  close(): Promise<void>;
}

/** The channel prefix `@socket.io/redis-adapter` uses by default, as the plain server does. */
const PLAIN_CHANNEL_PREFIX = "socket.io#/#";
// socket.io-adapter's ClusterAdapter message type of a broadcast, and socket.io-parser's EVENT packet.
const BROADCAST_MESSAGE = 3;
const EVENT_PACKET = 2;

/** Starts `nodes` servers of `name` on `cluster`, and a producer for them in this process. */
export async function startClusterSystem(name: ClusterSystemName, cluster: RedisCluster, nodes: number): Promise<ClusterSystem> {
  const redis = new Cluster(cluster.startupNodes);
  let servers: HubProcess[] = [];
  try {
    if (name === "plain-sharded") {
      const started = await spawnBaselines("bench/harness/src/servers/plain-sharded-server.ts", nodes, {
        REDIS_CLUSTER_NODES: cluster.seeds,
      });
      servers = started.map((s) => s.process);
      return plainSharded(started, redis);
    }
    const pubsub = name === "hub-classic" ? "classic" : "sharded";
    const started = await spawnGateways(nodes, { REDIS_CLUSTER_NODES: cluster.seeds, HUB_PUBSUB: pubsub });
    servers = started.map((s) => s.process);
    const emitter = createHubEmitter({ redis, pubsub });
    const inFlight = new InFlight();
    return {
      name,
      ...endpoints(started),
      protocol: { kind: "socket.io", auth: { userTokenOrg: BENCH_ORG }, topic: "notifications:{user}" },
      publishToUser(user, payload) {
        inFlight.add(emitter.publish({ type: "notification.created", org_id: BENCH_ORG, user_id: user, payload: { ...payload } }));
      },
      settle: () => inFlight.settle(),
      pubsubMessages: () =>
        Promise.all(started.map(async ({ port }) => metric(await text(`http://127.0.0.1:${port}/metrics`), "hub_pubsub_messages_total"))),
      close: () => closeAll(servers, redis),
    };
  } catch (error) {
    await closeAll(servers, redis);
    throw error;
  }
}

/**
 * Plain's producer: SPUBLISH of the sharded adapter's own broadcast message (JSON, as the adapter
 * sends a payload without binary) on the room's channel, as `io.to(room).emit` on a plain server would.
 */
function plainSharded(started: Array<{ process: HubProcess; port: number }>, redis: Cluster): ClusterSystem {
  const inFlight = new InFlight();
  const servers = started.map((s) => s.process);
  return {
    name: "plain-sharded",
    ...endpoints(started),
    protocol: { kind: "socket.io", auth: undefined, topic: "notifications:{user}" },
    publishToUser(user, payload) {
      const room = `notifications:${user}`;
      const message = {
        uid: "emitter",
        nsp: "/",
        type: BROADCAST_MESSAGE,
        data: {
          packet: { type: EVENT_PACKET, data: ["notification.created", payload], nsp: "/" },
          opts: { rooms: [room], except: [], flags: {} },
        },
      };
      inFlight.add(redis.spublish(`${PLAIN_CHANNEL_PREFIX}${room}#`, JSON.stringify(message)));
    },
    settle: () => inFlight.settle(),
    pubsubMessages: () =>
      Promise.all(
        started.map(
          async ({ port }) => (JSON.parse(await text(`http://127.0.0.1:${port}/stats`)) as { pubsubMessages: number }).pubsubMessages,
        ),
      ),
    close: () => closeAll(servers, redis),
  };
}

function endpoints(started: Array<{ process: HubProcess; port: number }>): Pick<ClusterSystem, "urls" | "serverPids"> {
  return {
    urls: started.map(({ port }) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`),
    serverPids: started.map((s) => s.process.child.pid as number),
  };
}

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

/** A counter's value in Prometheus text format (a metric without labels). */
function metric(body: string, name: string): number {
  const line = new RegExp(`^${name} (\\S+)$`, "m").exec(body);
  if (!line) throw new Error(`${name} not in the gateway's /metrics`);
  return Number(line[1]);
}
