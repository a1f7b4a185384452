import { connectRedis, type RedisSettings } from "@hub/runtime";
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
import { createAdapter } from "@socket.io/redis-adapter";
import type { Logger } from "pino";
import { redisIngestNodes } from "../ingest/redis-ingest-nodes.js";
import { redisPresence } from "../presence/redis-presence.js";
import { redisUserSessions } from "../protection/redis-user-sessions.js";
import type { LiveTap } from "../recovery/live-holds.js";
import { type BroadcastObserver, type Engine, engineHealth } from "./engine.js";
import { watchResponsiveness } from "./responsiveness.js";

export interface RedisEngineOptions {
  redis: RedisSettings;
  keys: HubKeys;
  logger: Logger;
  /** `PRESENCE_TTL_MS`: how long a node may go without a presence heartbeat. */
  presenceTtlMs: number;
  /** `DLQ_MAX_STREAMS_PER_SOURCE`: dead-letter streams one producer path may write. */
  dlqMaxStreamsPerSource: number;
}

/** Clustered: gateways share broadcasts through `@socket.io/redis-adapter`. */
export function createRedisEngine(options: RedisEngineOptions): Engine {
  const { logger } = options;
  const pub = connectRedis(options.redis, "gateway", "pub", logger);
  const sub = connectRedis(options.redis, "gateway", "sub", logger);
  // The adapter owns `sub`; channel patterns (the legacy channel) get a subscriber of their own.
  let patterns: RedisClient | undefined;
  let patternsSubscribed: Promise<unknown> = Promise.resolve();
  const live = watchLiveStream(sub);
  const control = connectRedis(options.redis, "gateway", "control", logger);
  const answering = watchResponsiveness(pub, logger);
  const userSessions = redisUserSessions({ redis: pub, subscriber: control, keys: options.keys, logger });
  // The adapter's own subscriber: a broadcast is seen here in the same tick the adapter sees it.
  const listeners: BroadcastListeners = {};
  const roomChannel = Buffer.from(`${options.keys.socketIo}#/#`);
  sub.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, message: Buffer) => onBroadcast(listeners, roomChannel, channel, message));

  return {
    kind: "redis",
    broker: {
      attach(io) {
        io.adapter(createAdapter(pub, sub, { key: options.keys.socketIo }));
      },
      eventSink: () => redisEventSink(pub, options.keys),
      tapLive(tap) {
        listeners.tap = tap;
      },
      observeBroadcasts(observer) {
        listeners.observer = observer;
      },
      async liveBarrier() {
        // Redis writes to a connection in order: the PONG comes after every message published before.
        await sub.ping();
      },
      liveGeneration: () => live.generation,
      onLiveGap: (listener) => live.listeners.push(listener),
    },
    stores: {
      deadLetters: redisDeadLetters(pub, options.keys, { maxStreamsPerSource: options.dlqMaxStreamsPerSource }),
      history: redisHistory(pub, options.keys),
      commands: redisCommandQueue(pub, options.keys),
      userSessions,
      ingestNodes: redisIngestNodes(pub, options.keys),
      presence: (_io, nodeId) => redisPresence({ redis: pub, keys: options.keys, nodeId, ttlMs: options.presenceTtlMs, logger }),
      localQueues: undefined,
    },
    health: engineHealth(
      () => (pub.status === "ready" && sub.status === "ready" && answering.responsive ? "connected" : "disconnected"),
      () => ({
        pub: pub.status === "ready",
        sub: sub.status === "ready",
        ...(patterns ? { legacy: patterns.status === "ready" } : {}),
      }),
    ),
    channels: {
      subscribe(pattern, listener) {
        patterns ??= connectRedis(options.redis, "gateway", "legacy", logger);
        patterns.on("pmessage", (_pattern: string, channel: string, message: string) => listener(channel, message));
        // ioredis re-subscribes after a reconnect.
        patternsSubscribed = patterns
          .psubscribe(pattern)
          .catch((error: unknown) => logger.error({ err: error, pattern }, "legacy PSUBSCRIBE failed"));
      },
    },
    async ready() {
      // Redis answers commands of one connection in order: once this PING returns, the adapter's
      // PSUBSCRIBE has been applied and broadcasts from any node reach this one. The publishing
      // connection reconnects on its own schedule: ready means both are up.
      await Promise.all([sub.ping(), pub.ping()]);
      await patternsSubscribed;
    },
    async close() {
      answering.stop();
      await Promise.allSettled([pub, sub, control, patterns].filter((c) => c !== undefined).map(closeClient));
    },
  };
}

/**
 * Follows the adapter's subscriber connection. Broadcasts published while it is down never reach
 * this node, so the generation moves when it drops and again when it is back (a catch-up that
 * spans either may have a gap), and the listeners hear when it is back.
 */
function watchLiveStream(sub: RedisClient): { generation: number; listeners: Array<() => void> } {
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
