import type { ClientToServerEvents, Principal, ServerToClientEvents } from "@hub/events";
import type { Server, Socket } from "socket.io";
import type { Joining } from "./catch-up.js";
import type { TokenBucket } from "./token-bucket.js";

/** Per-connection state, set at handshake. */
export interface SocketData {
  principal: Principal;
  /** Limits subscribe requests per second. */
  subscribeBucket: TokenBucket;
  /** Fires when the token expires; cleared on disconnect and replaced on `auth.refresh`. */
  expiryTimer: NodeJS.Timeout | undefined;
  /** Subscriptions to topics with history that are still replaying, by topic. */
  joining?: Map<string, Joining>;
}

// biome-ignore lint/complexity/noBannedTypes: Socket.IO's type for "no inter-server events".
type InterServerEvents = {};

export type HubServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type HubSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
