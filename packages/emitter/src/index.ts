export { PublishError } from "@hub/events";
export type { Broadcaster, RedisPublisher } from "./broadcaster.js";
export { redisBroadcaster } from "./broadcaster.js";
export type { HubEmitter, HubEmitterOptions } from "./hub-emitter.js";
export { createHubEmitter } from "./hub-emitter.js";
export type { HubKeys } from "./keys.js";
export { DEFAULT_KEY_PREFIX, hubKeys } from "./keys.js";
export type { Publisher, PublisherOptions, PublishResult } from "./publisher.js";
export { createPublisher } from "./publisher.js";
