import type { ClientToServerEvents, Principal, ServerToClientEvents, SubscribeOk } from "@hub/events";
import type { Server, Socket } from "socket.io";
import type { TokenBucket } from "./token-bucket.js";

/** A subscription on its way in; `cancelled` when the client unsubscribed meanwhile. */
export interface Joining {
  cancelled: boolean;
  readonly result: Promise<SubscribeOk>;
}

/**
 * Per-connection state, set at handshake. Lean on purpose (memory per connection): optional fields
 * are made on first use, and what can be per node is not here.
 */
export interface SocketData {
  principal: Principal;
  /** Limits subscribe (and inhouse) requests per second. */
  subscribeBucket: TokenBucket;
  /** Limits requests of any kind per second (REQUEST_RATE_PER_SECOND). */
  requestBucket: TokenBucket;
  /** Subscriptions to topics with history that are still replaying, by room. */
  joining?: Map<string, Joining> | undefined;
  /** The client negotiated `resync` (handshake `auth.resync === true`): a slow connection is resynced, not closed. */
  resync?: true;
  /** The client negotiated batch frames (handshake `auth.coalesce === true`): a topic's broadcasts of one turn come as one `batch` event. */
  coalesce?: true;
  /** Set while a slow connection's live events are stopped: the rooms it left, for its `resync`. */
  lagging?: string[] | undefined;
  /** The client's address when it is not the peer's (`handshake.address`): TRUST_PROXY's X-Forwarded-For, set at handshake. */
  address?: string;
  /** Whether the socket joined its user's node-local room (`userRoom`), left out of its ephemeral publications. */
  inUserRoom?: boolean;
  /** Why the hub closed this connection (`slow_consumer`, `revoked`, `disconnect`), for the disconnect log. */
  closeReason?: string;
}

// biome-ignore lint/complexity/noBannedTypes: Socket.IO's type for "no inter-server events".
type InterServerEvents = {};

export type HubServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type HubSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
