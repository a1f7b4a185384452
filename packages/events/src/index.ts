export type { ClientEventKind, ClientEventSpec, ResolvedClientEvent } from "./client-events.js";
export { CHAT_CLIENT_EVENTS, CHAT_SCHEMAS, CLIENT_EVENT_NAME, DEFAULT_CLIENT_EVENT_BYTES } from "./client-events.js";
export type { Envelope } from "./envelope.js";
export type { ErrorCode, ErrorCodeOn, ErrorCodeSpec, ErrorSurface } from "./error-codes.js";
export { ERROR_CODES, errorCodesOn, isErrorCode } from "./error-codes.js";
export type { ErrorBody, ProtocolErrorCode, PublishErrorCode } from "./hub-error.js";
export { ProtocolError, PublishError } from "./hub-error.js";
export { ID_SEGMENT, KEY_PREFIX, normalizeId } from "./ids.js";
export type { Queue, QueuePlayer, QueueRef, QueueStatus } from "./inhouse/queue.js";
export { DEFAULT_CAPACITY, parseQueueName, queueName } from "./inhouse/queue.js";
export type { CommandName, QueueCommand, QueueCommandInput, SyncCommand } from "./inhouse/queue-command.js";
export { COMMANDS, CommandError, PLAYER_COMMANDS, parseQueueCommand, QueueCommandSchema } from "./inhouse/queue-command.js";
export type { JsonLimitBreach, JsonLimits } from "./json-limits.js";
export { checkJsonLimits, MAX_EVENT_BYTES, MAX_EVENT_DEPTH } from "./json-limits.js";
export { NamespaceSpecSchema, parseNamespaceSpecs } from "./namespace-spec-schema.js";
export type { Principal, ServicePrincipal, UserPrincipal } from "./principal.js";
export { subjectOf } from "./principal.js";
export type { NormalizedEvent, ProducerEvent } from "./producer-event.js";
export { EVENT_TYPE, eventFamilyPattern, MAX_EVENT_TYPE_LENGTH, ProducerEnvelopeSchema, parseProducerEvent } from "./producer-event.js";
export type {
  Ack,
  AckOk,
  AckRequest,
  AuthRefreshOk,
  AuthRefreshRequest,
  ChatEvents,
  ClientToServerEvents,
  Failure,
  InhouseOk,
  InhouseRequest,
  MatchData,
  MessageRef,
  NotificationCreatedData,
  PayloadOf,
  PresenceChange,
  PresenceMember,
  PresenceMeta,
  PresenceMetaChange,
  PresenceOk,
  PresenceRequest,
  PresenceUpdateOk,
  PresenceUpdateRequest,
  PublishOk,
  PublishRequest,
  ReplyOf,
  RequestName,
  ResyncInfo,
  ServerToClientEvents,
  StreamPosition,
  SubscribeOk,
  SubscribeRequest,
  UnsubscribeOk,
  UnsubscribeRequest,
} from "./protocol.js";
export { BATCH_EVENT, EMPTY_EPOCH } from "./protocol.js";
export type { RequestOf } from "./request-schemas.js";
export { isRequestName, parseRequest, REQUEST_SCHEMAS } from "./request-schemas.js";
export type { Delivery, Route } from "./routing.js";
export { ROUTES, Router, toEnvelope } from "./routing.js";
export type {
  CallEvents,
  CallInitiateOk,
  CallInitiateRequest,
  CallMediaKind,
  CallOk,
  CallRequest,
  CallToggleRequest,
  HuddleCreateOk,
  HuddleCreateRequest,
  HuddleEvents,
  HuddleInviteRequest,
  HuddleJoinOk,
  HuddleMember,
  HuddleMessageRequest,
  HuddleOk,
  HuddleRaiseHandRequest,
  HuddleRequest,
  HuddleToggleRequest,
  RtcRequests,
  SignalRequest,
} from "./rtc-protocol.js";
export type { EventSchemaSpec } from "./schemas/catalog.js";
export { EVENT_SCHEMAS } from "./schemas/catalog.js";
export { IdLike, Payload, QueueSchema, Sensitive } from "./schemas/common.js";
export { SchemaRegistry, typeVersion } from "./schemas/schema-registry.js";
export type {
  HistoryPolicy,
  NamespaceAuthorize,
  NamespaceScope,
  NamespaceSpec,
  ParsedTopic,
  PresenceEventNames,
  ResolvedNamespace,
} from "./topic-registry.js";
export { BUILTIN_NAMESPACES, DEFAULT_PRESENCE_EVENTS, MAX_TOPIC_LENGTH, TopicRegistry } from "./topic-registry.js";
export type { RoomScope } from "./topic-room.js";
export { CLIENT_EVENT_BUCKETS, roomOf, roomTag, streamTag, topicOfRoom } from "./topic-room.js";
export { uuidv7, uuidv7From } from "./uuidv7.js";
