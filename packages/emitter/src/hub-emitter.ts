import type { ProducerEvent } from "@hub/events";
import { type RedisPublisher, redisBroadcaster } from "./broadcaster.js";
import { hubKeys } from "./keys.js";
import { createPublisher, type PublishResult } from "./publisher.js";

export interface HubEmitterOptions {
  /** The Redis the gateways use (an ioredis client); the caller owns and closes it. */
  redis: RedisPublisher;
  /**
   * Key prefix shared with the gateways (`HUB_KEY_PREFIX`).
   * @default "hub"
   */
  prefix?: string;
}

/** Publishes domain events to the hub from any backend process; no Socket.IO server needed. */
export interface HubEmitter {
  /**
   * Validates, routes and broadcasts one event. Rejects with `PublishError` (codes
   * `invalid_event`, `unknown_type`, `no_route`) and delivers nothing when the event is bad.
   */
  publish(event: ProducerEvent): Promise<PublishResult>;
  /** Publishes several events; validates all first and publishes none if any is bad. */
  publishMany(events: readonly ProducerEvent[]): Promise<PublishResult[]>;
}

/**
 * Creates the producer SDK.
 *
 * @example
 * import Redis from "ioredis";
 * const hub = createHubEmitter({ redis: new Redis(process.env.REDIS_URL) });
 * await hub.publish({ type: "roster.player_hired", org_id: 42, payload: { player_id: 7 } });
 */
export function createHubEmitter(options: HubEmitterOptions): HubEmitter {
  const publisher = createPublisher({ broadcaster: redisBroadcaster(options.redis, hubKeys(options.prefix)) });
  return { publish: (event) => publisher.publish(event), publishMany: (events) => publisher.publishMany(events) };
}
