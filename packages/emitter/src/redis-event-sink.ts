import type { Redis } from "ioredis";
import { createBroadcastEncoder } from "./broadcast-encoder.js";
import { DEDUPE_WINDOW_MS, type EventSink } from "./event-sink.js";
import type { HubKeys } from "./keys.js";
import { withHubCommands } from "./lua/scripts.js";

/**
 * Delivers through Redis: one script call claims the event id and publishes its broadcasts, which
 * every gateway's `@socket.io/redis-adapter` hands to its local sockets. Calls go out on one
 * connection in call order, so one producer's events keep their order.
 */
export function redisEventSink(redis: Redis, keys: HubKeys, windowMs: number = DEDUPE_WINDOW_MS): EventSink {
  const client = withHubCommands(redis);
  const encode = createBroadcastEncoder(keys);
  return {
    async deliver(event, outgoing) {
      return (await client.hubPublish(keys.dedupe(event.orgId, event.id), windowMs, ...encode(outgoing))) === 1;
    },
  };
}
