import { createBroadcastEncoder, type PubSubWire } from "./broadcast-encoder.js";
import { DEDUPE_WINDOW_MS, type EventSink, senderOf } from "./event-sink.js";
import { epochSalt } from "./history.js";
import type { HubKeys } from "./keys.js";
import { PUBLISH_OUTCOME, withHubCommands } from "./lua/scripts.js";
import { createPublishBatcher } from "./publish-batcher.js";
import type { RedisClient } from "./redis-client.js";

export interface RedisEventSinkOptions {
  /** `classic` (PUBLISH, the classic adapter's format) or `sharded` (SPUBLISH, the sharded adapter's). @default "classic" */
  pubsub?: PubSubWire;
  /** @default DEDUPE_WINDOW_MS */
  windowMs?: number;
  /** Entries each client-event stream bucket keeps at most (approximate trim). @default CLIENT_EVENT_STREAM_LENGTH */
  clientEventStreamLength?: number;
  /** Most deliveries per publish script call (see `createPublishBatcher`). @default 128 */
  maxBatch?: number;
}

/** How many entries a client-event stream bucket keeps unless configured (CLIENT_EVENT_STREAM_LENGTH). */
export const CLIENT_EVENT_STREAM_LENGTH = 100_000;

/**
 * Delivers through Redis: per topic, a script claims the event id on the topic, appends the event
 * to the topic's history when it keeps one (giving it the topic's next offset) and publishes its
 * broadcast, which every gateway with members of the topic hands to its local sockets. Deliveries
 * queued in one event-loop turn, consecutive on topics of one slot, share one script call (`createPublishBatcher`),
 * each with its own outcome; each call touches one slot, so it runs on Redis Cluster. A slot's calls
 * go out on one connection in call order, so one producer's events keep their order on every topic.
 */
export function redisEventSink(redis: RedisClient, keys: HubKeys, options: RedisEventSinkOptions = {}): EventSink {
  const client = withHubCommands(redis);
  const pubsub = options.pubsub ?? "classic";
  const encode = createBroadcastEncoder(keys, pubsub);
  const sharded = pubsub === "sharded" ? "1" : "0";
  const windowMs = options.windowMs ?? DEDUPE_WINDOW_MS;
  const salt = epochSalt();
  const streamLength = options.clientEventStreamLength ?? CLIENT_EVENT_STREAM_LENGTH;
  const publish = createPublishBatcher(redis, { windowMs, salt, sharded, maxBatch: options.maxBatch ?? 128 });
  return {
    async deliver(event, outgoing) {
      const outcomes = await Promise.all(
        encode(outgoing).map(({ topic, channel, message, offsetAt, history }) => {
          const { stream, meta } = keys.history(topic);
          return publish({
            dedupe: keys.dedupe(topic, event.orgId, event.id),
            stream,
            meta,
            channel,
            message,
            offsetAt: history && offsetAt !== undefined ? offsetAt + 1 : 0,
            historySize: history?.size ?? 0,
            historyTtlMs: history?.ttlMs ?? 0,
          });
        }),
      );
      return outcomes.some((outcome) => outcome === PUBLISH_OUTCOME.delivered);
    },
    async deliverClient(event, { room, clientEvent, envelope, history }) {
      const [encoded] = encode([{ topic: room, clientEvent, envelope, history }]);
      if (encoded?.offsetAt === undefined) throw new Error("a client publication is encoded with its offset placeholder");
      const { stream, meta } = keys.history(room);
      const answer = await client.hubPublishClient(
        keys.dedupe(room, event.orgId, event.id),
        stream,
        meta,
        keys.clientEventStream(room),
        windowMs,
        salt,
        sharded,
        encoded.channel,
        encoded.message,
        encoded.offsetAt + 1,
        history.size,
        history.ttlMs,
        JSON.stringify(envelope),
        streamLength,
        senderOf(envelope),
      );
      if (answer[0] === 2) return { outcome: "conflict" };
      const [outcome, offset, epoch] = answer;
      return { outcome: outcome === 1 ? "delivered" : "duplicate", offset, epoch };
    },
  };
}
