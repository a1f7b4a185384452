export type { DecodedBroadcast, EncodedBroadcast, PubSubWire } from "./broadcast-encoder.js";
export {
  barrierMarkerId,
  broadcastPublishedAt,
  createBroadcastEncoder,
  decodeBroadcast,
  encodeBarrierMarker,
} from "./broadcast-encoder.js";
export type { CommandQueue, UserCommandOutcome } from "./command-queue.js";
export { redisCommandQueue } from "./command-queue.js";
export type {
  DeadLetter,
  DeadLetterEntry,
  DeadLetterReceipt,
  DeadLetterStreamInfo,
  DeadLetterStreamPage,
  DeadLetters,
  IngestSource,
} from "./dead-letters.js";
export {
  capRaw,
  DEAD_LETTER_MAX_STREAMS_PER_SOURCE,
  DEAD_LETTER_STREAM_LENGTH,
  DEAD_LETTER_TTL_MS,
  deadLetterOrg,
  deadLetterStreamName,
  MAX_RAW_BYTES,
  overflowStreamName,
  UNKNOWN_STREAM,
} from "./dead-letters.js";
export type { ClientDelivery, ClientPublication, EventKey, EventSink, Outgoing } from "./event-sink.js";
export { DEDUPE_WINDOW_MS } from "./event-sink.js";
export type { History, HistoryEntry, HistoryQuery, HistoryRead } from "./history.js";
export type {
  EntityBucketKeys,
  EntityKeys,
  HistoryKeys,
  HubKeys,
  PresenceKeys,
  PresenceNodeKeys,
  PushBucketKeys,
  QueueBucketKeys,
  QueueKeys,
} from "./keys.js";
export {
  DEFAULT_KEY_PREFIX,
  ENTITY_BUCKETS,
  entityBucket,
  hubKeys,
  PUSH_BUCKETS,
  pushBucket,
  QUEUE_BUCKETS,
  queueBucket,
} from "./keys.js";
export type { ScriptFiles } from "./lua/lua-commands.js";
export { loadLua, luaCommands } from "./lua/lua-commands.js";
export type { MemoryDeadLettersOptions } from "./memory-dead-letters.js";
export { memoryDeadLetters } from "./memory-dead-letters.js";
export type { LocalBroadcast } from "./memory-event-sink.js";
export { memoryEventSink } from "./memory-event-sink.js";
export { MemoryHistory } from "./memory-history.js";
export { type BatchedDelivery, createPublishBatcher, type PublishBatcherOptions } from "./publish-batcher.js";
export type { PublishContext, Publisher, PublisherOptions, PublishResult } from "./publisher.js";
export { createPublisher, UNSERIALIZABLE_RAW } from "./publisher.js";
export { RecentIds } from "./recent-ids.js";
export type { RedisClient } from "./redis-client.js";
export type { RedisDeadLettersOptions } from "./redis-dead-letters.js";
export { redisDeadLetters } from "./redis-dead-letters.js";
export { CLIENT_EVENT_STREAM_LENGTH, type RedisEventSinkOptions, redisEventSink } from "./redis-event-sink.js";
export { redisHistory } from "./redis-history.js";
export type { ReplayResult } from "./replay.js";
export { replayDeadLetters } from "./replay.js";
