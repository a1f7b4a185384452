import type { ProducerEvent } from "@hub/events";
import type { Redis } from "ioredis";
import { hubKeys } from "./keys.js";
import { createPublisher, type PublishResult } from "./publisher.js";
import { redisDeadLetters } from "./redis-dead-letters.js";
import { redisEventSink } from "./redis-event-sink.js";

export interface HubEmitterOptions {
  /** The Redis the gateways use (an ioredis client); the caller owns and closes it. */
  redis: Redis;
  /**
   * Key prefix shared with the gateways (`HUB_KEY_PREFIX`).
   * @default "hub"
   */
  prefix?: string;
}

/** Publishes domain events to the hub from any backend process; no Socket.IO server needed. */
export interface HubEmitter {
  /**
   * Validates, routes and broadcasts one event to every subscribed client on every gateway.
   * Resolves with `duplicate: true` (and delivers nothing) when the id was published within the
   * last 5 minutes. Rejects with `PublishError` (`invalid_event`, `unknown_type`, `no_route`) and
   * records the event in the dead-letter queue when it is bad. Events published by one emitter
   * reach each client in call order.
   */
  publish(event: ProducerEvent): Promise<PublishResult>;
  /** Publishes several events; validates all first and publishes none if any is bad. */
  publishMany(events: readonly ProducerEvent[]): Promise<PublishResult[]>;
}

/**
 * Creates the producer SDK.
 *
 * @example
 * import { Redis } from "ioredis";
 * const hub = createHubEmitter({ redis: new Redis(process.env.REDIS_URL) });
 * await hub.publish({ type: "roster.player_hired", org_id: 42, payload: { player_id: 7 } });
 */
export function createHubEmitter(options: HubEmitterOptions): HubEmitter {
  const keys = hubKeys(options.prefix);
  const publisher = createPublisher({ sink: redisEventSink(options.redis, keys), deadLetters: redisDeadLetters(options.redis, keys) });
  const context = { source: "emitter" } as const;
  return {
    publish: (event) => publisher.publish(event, context),
    publishMany: (events) => publisher.publishMany(events, context),
  };
}
