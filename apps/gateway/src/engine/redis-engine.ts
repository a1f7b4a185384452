import { redisEntityStore } from "@hub/entities";
import { type ClientPublishSettings, connectRedis, isCluster, type RedisSettings } from "@hub/runtime";
import {
  broadcastPublishedAt,
  decodeBroadcast,
  type HubKeys,
  type RedisClient,
  redisCommandQueue,
  redisDeadLetters,
  redisEventSink,
  redisHistory,
} from "@hub/store";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { redisIngestNodes } from "../ingest/redis-ingest-nodes.js";
import { redisPresence } from "../presence/redis-presence.js";
import { redisPublishRate } from "../protection/redis-publish-rate.js";
import { redisUserSessions } from "../protection/redis-user-sessions.js";
import { redisConversationMembers } from "../push/redis-conversation-members.js";
import { redisPushQueue } from "../push/redis-push-queue.js";
import type { LiveTap } from "../recovery/live-holds.js";
import { redisCallLines } from "../rtc/redis-call-lines.js";
import { type BroadcastObserver, type Engine, engineHealth } from "./engine.js";
import { NodeSubscriber } from "./node-subscriber.js";
import { nodeUrl } from "./node-url.js";
import { PublishBarrier } from "./publish-barrier.js";
import { watchResponsiveness } from "./responsiveness.js";
import { type ShardState, ShardSubscriber } from "./shard-subscriber.js";
import { subscriberFlow } from "./subscriber-flow.js";
import type { AdapterConstructor } from "./write-coalescing.js";

export interface RedisEngineOptions {
  redis: RedisSettings;
  keys: HubKeys;
  logger: Logger;
  /** `PRESENCE_TTL_MS`: how long a node may go without a presence heartbeat. */
  presenceTtlMs: number;
  /** `DLQ_MAX_STREAMS_PER_SOURCE`: dead-letter streams one producer path may write. */
  dlqMaxStreamsPerSource: number;
  /** `CLIENT_PUBLISH_RATE`, `CLIENT_PUBLISH_BURST`, `CLIENT_EVENT_STREAM_LENGTH`. */
  clientPublish: ClientPublishSettings;
}

/**
 * Clustered: gateways share broadcasts through `@socket.io/redis-adapter`. With `HUB_PUBSUB=classic`
 * every gateway PSUBSCRIBEs to every broadcast on one subscriber connection; with `sharded` it
 * SSUBSCRIBEs to the channels of the rooms it has sockets in (or follows for a catch-up), on one
 * connection per master of a Redis Cluster (`ShardSubscriber`).
 */
export function createRedisEngine(options: RedisEngineOptions): Engine {
  const { logger, keys } = options;
  const pub = connectRedis(options.redis, "gateway", "pub", logger);
  const live = options.redis.pubsub === "sharded" ? shardedLive(options, pub) : classicLive(options, pub);
  // Channel patterns (the legacy channel) get a subscriber of their own.
  let patterns: RedisClient | undefined;
  let patternsSubscribed: Promise<unknown> = Promise.resolve();
  const control = connectRedis(options.redis, "gateway", "control", logger);
  const answering = watchResponsiveness(pub, logger);
  const userSessions = redisUserSessions({ redis: pub, subscriber: control, keys, logger });
  // The adapter's own subscriber: a broadcast is seen here in the same tick the adapter sees it.
  const listeners: BroadcastListeners = {};
  const roomChannel = Buffer.from(`${keys.socketIo}#/#`);
  live.onMessage((channel, message) => onBroadcast(listeners, roomChannel, channel, message));

  return {
    kind: "redis",
    broker: {
      attach(io, decorate) {
        io.adapter(decorate(live.adapter(pub) as unknown as AdapterConstructor) as unknown as ReturnType<typeof createAdapter>);
      },
      eventSink: () =>
        redisEventSink(pub, keys, { pubsub: options.redis.pubsub, clientEventStreamLength: options.clientPublish.streamLength }),
      tapLive(tap) {
        listeners.tap = tap;
      },
      observeBroadcasts(observer) {
        listeners.observer = observer;
      },
      follow: (room) => live.follow(keys.topicChannel(room)),
      liveBarrier: (room) => live.barrier(keys.topicChannel(room)),
      liveGeneration: (room) => live.generation(keys.topicChannel(room)),
      onLiveGap(listener) {
        const prefix = `${keys.socketIo}#/#`;
        live.onGap((channels) =>
          listener(channels?.filter((c) => c.startsWith(prefix) && c.length > prefix.length + 1).map((c) => c.slice(prefix.length, -1))),
        );
      },
    },
    stores: {
      deadLetters: redisDeadLetters(pub, keys, { maxStreamsPerSource: options.dlqMaxStreamsPerSource }),
      history: redisHistory(pub, keys),
      commands: redisCommandQueue(pub, keys),
      userSessions,
      publishRate: redisPublishRate(pub, keys, options.clientPublish),
      ingestNodes: redisIngestNodes(pub, keys),
      push: { queue: redisPushQueue(pub, keys), members: redisConversationMembers(pub, keys) },
      presence: (_io, nodeId, names, onSwept) =>
        redisPresence({
          redis: pub,
          keys,
          nodeId,
          ttlMs: options.presenceTtlMs,
          pubsub: options.redis.pubsub,
          names,
          logger,
          ...(onSwept ? { onSwept } : {}),
        }),
      localQueues: undefined,
      entities: redisEntityStore(pub, keys),
      callLines: redisCallLines(pub, keys),
    },
    health: engineHealth(
      () => (pub.status === "ready" && live.connected() && answering.responsive ? "connected" : "disconnected"),
      () => ({
        pub: pub.status === "ready",
        sub: live.connected(),
        ...(patterns ? { legacy: patterns.status === "ready" } : {}),
      }),
      () => live.shards?.() ?? [],
    ),
    channels: {
      subscribe(pattern, listener) {
        patterns ??= connectRedis(options.redis, "gateway", "legacy", logger);
        const client = patterns;
        client.on("pmessage", (_pattern: string, channel: string, message: string) => listener(channel, message));
        // ioredis re-subscribes after a reconnect.
        patternsSubscribed = client
          .psubscribe(pattern)
          .catch((error: unknown) => logger.error({ err: error, pattern }, "legacy PSUBSCRIBE failed"));
        return subscriberFlow(client);
      },
    },
    async ready() {
      // Redis answers commands of one connection in order: once the subscriber answers, the adapter's
      // subscriptions have been applied and broadcasts from any node reach this one. The publishing
      // connection reconnects on its own schedule: ready means both are up.
      await Promise.all([live.ready(), pub.ping()]);
      await patternsSubscribed;
    },
    async close() {
      answering.stop();
      live.close();
      await Promise.allSettled([pub, control, patterns].filter((c) => c !== undefined).map(closeClient));
    },
  };
}

/** This node's live stream: its subscriptions to the broadcasts, in one pub/sub mode. */
interface LiveStream {
  adapter(pub: RedisClient): ReturnType<typeof createAdapter> | ReturnType<typeof createShardedAdapter>;
  onMessage(listener: (channel: Buffer, message: Buffer) => void): void;
  follow(channel: string): Promise<() => void>;
  barrier(channel: string): Promise<void>;
  generation(channel: string): number;
  /** Channels whose messages were lost, or undefined for every channel. */
  onGap(listener: (channels: readonly string[] | undefined) => void): void;
  connected(): boolean;
  /** Sharded pub/sub's subscriber connections (see `ShardSubscriber.shards`). */
  shards?(): ShardState[];
  ready(): Promise<void>;
  close(): void;
}

/**
 * PSUBSCRIBE to every broadcast on one connection (one server, a Sentinel-managed master, or one
 * node of a Redis Cluster, where classic pub/sub reaches every node).
 */
function classicLive(options: RedisEngineOptions, pub: RedisClient): LiveStream {
  // On a cluster: one connection to one node, which says when its stream broke (ioredis's own
  // cluster subscriber moves to another node without a word), and a barrier that follows the bus.
  const sub = isCluster(pub)
    ? new NodeSubscriber({
        // The cluster's nodes once it has loaded them, else the configured seeds.
        nodes: () => {
          const known = pub.nodes("all").map(({ options: node }) => `${node.host}:${node.port}`);
          const { target } = options.redis;
          return known.length > 0 || target.kind !== "cluster" ? known : target.nodes.map(({ host, port }) => `${host}:${port}`);
        },
        connect: (node) =>
          connectRedis({ ...options.redis, target: { kind: "single", url: nodeUrl(node) } }, "gateway", "sub", options.logger, {
            giveUpAfter: 3,
          }) as Redis,
      })
    : (connectRedis(options.redis, "gateway", "sub", options.logger) as Redis);
  const watched = watchLiveStream(sub);
  const markers = isCluster(pub) ? new PublishBarrier(pub) : undefined;
  const mainChannel = `${options.keys.socketIo}#/#`;
  return {
    adapter: (pub) => createAdapter(pub, sub, { key: options.keys.socketIo }),
    onMessage: (listener) =>
      void sub.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, message: Buffer) => {
        if (!markers?.take(message)) listener(channel, message);
      }),
    follow: async () => () => {},
    // Redis writes to a connection in order: the PONG comes after every message published before.
    barrier: async (channel) => void (await (markers ? markers.pass(channel, BARRIER_TIMEOUT_MS) : sub.ping())),
    generation: () => watched.generation,
    onGap: (listener) => void watched.listeners.push(() => listener(undefined)),
    connected: () => sub.status === "ready",
    async ready() {
      if (!markers) return void (await sub.ping());
      // The adapter's PSUBSCRIBE is in effect once a marker comes back through it.
      for (let attempt = 1; ; attempt++) {
        try {
          return await markers.pass(mainChannel, 1_000);
        } catch (error) {
          if (attempt >= 30) throw error;
        }
      }
    },
    close: () => (sub instanceof NodeSubscriber ? sub.close() : void closeClient(sub)),
  };
}

/** How long a barrier marker may take to come back (the catch-up that waits for it has its own timeout too). */
const BARRIER_TIMEOUT_MS = 5_000;

/** SSUBSCRIBE to the rooms' channels: one connection per master of a Redis Cluster, or to the one Redis. */
function shardedLive(options: RedisEngineOptions, pub: RedisClient): LiveStream {
  // Node-local rooms (`~user...`, see client-publish.ts `userRoom`) only ever serve as `except`.
  const localRooms = options.keys.topicChannel("~").slice(0, -1);
  const shards = new ShardSubscriber({
    cluster: isCluster(pub) ? pub : undefined,
    // "" is the one Redis (a single server or a Sentinel-managed master), else a master of the cluster.
    connect: (node) =>
      (node === ""
        ? connectRedis(options.redis, "gateway", "sub", options.logger)
        : connectRedis(
            { ...options.redis, target: { kind: "single", url: nodeUrl(node) } },
            "gateway",
            `sub-${node}`,
            options.logger,
          )) as Redis,
    localOnly: (channel) => channel.startsWith(localRooms),
    logger: options.logger,
  });
  return {
    adapter: (pub) => createShardedAdapter(pub, shards, { channelPrefix: options.keys.socketIo, subscriptionMode: "dynamic" }),
    onMessage: (listener) => void shards.on("smessageBuffer", listener),
    follow: (channel) => shards.follow(channel),
    barrier: (channel) => shards.barrier(channel),
    generation: (channel) => shards.generation(channel),
    onGap: (listener) => shards.onGap(listener),
    connected: () => shards.connected(),
    shards: () => shards.shards(),
    ready: () => shards.ready(),
    close: () => shards.close(),
  };
}

/**
 * Follows the adapter's subscriber connection. Broadcasts published while it is down never reach
 * this node, so the generation moves when it drops and again when it is back (a catch-up that
 * spans either may have a gap), and the listeners hear when it is back.
 */
function watchLiveStream(sub: { on(event: "close" | "ready", listener: () => void): unknown }): {
  generation: number;
  listeners: Array<() => void>;
} {
  const live = { generation: 0, listeners: [] as Array<() => void> };
  let served = false;
  let interrupted = false;
  sub.on("close", () => {
    if (!served || interrupted) return;
    interrupted = true;
    live.generation++;
  });
  sub.on("ready", () => {
    served = true;
    if (!interrupted) return;
    interrupted = false;
    live.generation++;
    for (const listener of live.listeners) listener();
  });
  return live;
}

/**
 * Tells the observer about a room broadcast, once (not per socket), and reads its publish time from
 * the wire format without decoding it, only when the room has sockets here (as the adapter does).
 */
interface BroadcastListeners {
  tap?: LiveTap;
  observer?: BroadcastObserver;
}

/**
 * One broadcast to one room (`<key>#/#<room>#`), read once for the metrics observer and the live
 * tap. Per broadcast, never per socket: a channel comparison and one topic string; the message is
 * decoded only for a topic somebody on this node is catching up on.
 */
function onBroadcast(listeners: BroadcastListeners, roomChannel: Buffer, channel: Buffer, message: Buffer): void {
  const { tap, observer } = listeners;
  if (!observer && !tap?.active) return;
  if (channel.length <= roomChannel.length + 1 || channel.compare(roomChannel, 0, roomChannel.length, 0, roomChannel.length) !== 0) return;
  const topic = channel.toString("utf8", roomChannel.length, channel.length - 1);
  if (observer && observer.broadcast(topic) > 0) {
    const publishedAt = broadcastPublishedAt(message);
    if (publishedAt !== undefined) observer.latency(Date.now() - publishedAt);
  }
  if (!tap?.active || !tap.wants(topic)) return;
  let decoded: ReturnType<typeof decodeBroadcast>;
  try {
    decoded = decodeBroadcast(message);
  } catch {
    return; // Not ours to judge: the adapter drops what it cannot decode, so does the tap.
  }
  if (decoded) tap.push(topic, decoded);
}

/** QUIT when connected; a client that is reconnecting would wait for Redis, so it just stops. */
async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === "ready") await client.quit();
  else client.disconnect();
}
