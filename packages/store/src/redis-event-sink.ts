import { createBroadcastEncoder } from "./broadcast-encoder.js";
import { DEDUPE_WINDOW_MS, type EventSink } from "./event-sink.js";
import { epochSalt } from "./history.js";
import type { HubKeys } from "./keys.js";
import { PUBLISH_OUTCOME, withHubCommands } from "./lua/scripts.js";
import type { RedisClient } from "./redis-client.js";

/**
 * Delivers through Redis: one script call claims the event id, appends it to the history of each
 * topic that keeps one (giving it that topic's next offset) and publishes its broadcasts, which
 * every gateway's `@socket.io/redis-adapter` hands to its local sockets. Calls go out on one
 * connection in call order, so one producer's events keep their order.
 */
export function redisEventSink(redis: RedisClient, keys: HubKeys, windowMs: number = DEDUPE_WINDOW_MS): EventSink {
  const client = withHubCommands(redis);
  const encode = createBroadcastEncoder(keys);
  const salt = epochSalt();
  return {
    async deliver(event, outgoing) {
      const keyList: string[] = [keys.dedupe(event.orgId, event.id)];
      const args: Array<string | number | Buffer> = [windowMs, salt];
      for (const { topic, channel, message, offsetAt, history } of encode(outgoing)) {
        if (history && offsetAt !== undefined) {
          const { stream, meta } = keys.history(topic);
          keyList.push(stream, meta);
          args.push(channel, message, offsetAt + 1, history.size, history.ttlMs);
        } else {
          args.push(channel, message, 0, 0, 0);
        }
      }
      return (await client.hubPublish(keyList.length, ...keyList, ...args)) === PUBLISH_OUTCOME.delivered;
    },
  };
}
