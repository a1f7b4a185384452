import type { Envelope } from "@hub/events";
import { Emitter } from "@socket.io/redis-emitter";
import type { HubKeys } from "./keys.js";

/** Hands one envelope to every socket in a topic, wherever it is connected. */
export interface Broadcaster {
  broadcast(topic: string, clientEvent: string, envelope: Envelope): void;
}

/** Anything with a Redis `PUBLISH` (an ioredis client). */
export interface RedisPublisher {
  publish(channel: string, message: string | Buffer): unknown;
}

/** Broadcasts through Redis pub/sub, reaching the `@socket.io/redis-adapter` of every gateway node. */
export function redisBroadcaster(redis: RedisPublisher, keys: HubKeys): Broadcaster {
  const emitter = new Emitter(redis, { key: keys.socketIo });
  return {
    broadcast(topic, clientEvent, envelope) {
      emitter.to(topic).emit(clientEvent, envelope);
    },
  };
}
