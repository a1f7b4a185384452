export type {
  CallEvents,
  CallMediaKind,
  ChatEvents,
  Envelope,
  HuddleEvents,
  HuddleMember,
  PresenceMember,
  ProtocolErrorCode,
  PublishOk,
  ServerToClientEvents,
  StreamPosition,
} from "@hub/events";
export type { CallEnvelopeOf, CallEventName, CallListener, CallStarted, HubCalls, InitiateOptions } from "./calls.js";
export { connectHub } from "./connect-hub.js";
export type { HubErrorCode } from "./hub-error.js";
export { HubError } from "./hub-error.js";
export type {
  CreateHuddleOptions,
  HubHuddles,
  HuddleCreated,
  HuddleEnvelopeOf,
  HuddleEventName,
  HuddleListener,
} from "./huddles.js";
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
