export type {
  ChatEvents,
  Envelope,
  PresenceMember,
  ProtocolErrorCode,
  PublishOk,
  ServerToClientEvents,
  StreamPosition,
} from "@hub/events";
export { connectHub } from "./connect-hub.js";
export type { HubErrorCode } from "./hub-error.js";
export { HubError } from "./hub-error.js";
export type {
  ClientEventName,
  ConnectHubOptions,
  EnvelopeOf,
  GetToken,
  Hub,
  HubConnectionEvents,
  HubCredentials,
  HubEventArgs,
  HubOptions,
  PublishOptions,
  SubscribedInfo,
  SubscribeHandlers,
  SubscriptionToken,
} from "./types.js";
export type { TypingIndicator, TypingOptions } from "./typing-indicator.js";
