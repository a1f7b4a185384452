export type { Envelope, PresenceMember, ProtocolErrorCode, ServerToClientEvents, StreamPosition } from "@hub/events";
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
  SubscribedInfo,
  SubscribeHandlers,
} from "./types.js";
