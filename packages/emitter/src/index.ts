// The producer SDK: publish events and inhouse commands to the hub from any backend process, and
// consume the client-event streams. The storage it writes through (event sinks, dead letters, the
// command queue) is @hub/store.
export { PublishError } from "@hub/events";
export type { DeadLetterEntry, PublishResult } from "@hub/store";
export type { ClientEvent } from "./client-event.js";
export type {
  ClientEventConsumer,
  ClientEventConsumerErrorCode,
  ClientEventConsumerStats,
  ConsumeClientEventsOptions,
} from "./client-event-consumer.js";
export { ClientEventConsumerError } from "./client-event-consumer.js";
export type { HubEmitter, HubEmitterOptions, InhouseCommands } from "./hub-emitter.js";
export { createHubEmitter } from "./hub-emitter.js";
