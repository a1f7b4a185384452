import type { UserPrincipal } from "@hub/events";

/** What a connecting user is told: admitted, over MAX_CONNECTIONS_PER_USER, or holding a revoked token. */
export type Admission = "admitted" | "too_many" | "revoked";

/** A request, relayed to every gateway, to close a user's connections. */
export interface ControlMessage {
  kind: "revoke" | "disconnect";
  orgId: string;
  userId: string;
  /** `revoke`: connections whose token was issued before this (epoch ms) are closed. */
  before?: number;
}

/** One connection of a user on this node, as renewed. */
export interface UserConnection {
  orgId: string;
  userId: string;
  connectionId: string;
}

/**
 * Users' connections and revocations, cluster-wide: how many connections a user holds on every
 * node (MAX_CONNECTIONS_PER_USER), whose tokens are revoked, and the control messages that close a
 * user's connections on every node. Redis-backed for a cluster, in process for one node.
 */
export interface UserSessions {
  /**
   * Admits a user's connection unless its token was issued before a revocation of that user, or the
   * user already holds `max` connections; records it when admitted.
   */
  admit(user: UserPrincipal, connectionId: string, max: number): Promise<Admission>;
  /** Whether the user holds a connection on any node (entries of a dead node stop counting within ENTRY_TTL_MS). */
  connected(orgId: string, userId: string): Promise<boolean>;
  /** Forgets a connection (it closed). */
  release(user: UserConnection): Promise<void>;
  /** Keeps this node's connections counted; entries not renewed expire (a dead node's, within ENTRY_TTL_MS). */
  renew(connections: readonly UserConnection[]): Promise<void>;
  /** Whether the user has a live connection on any node (the push hook pushes only to users without one). */
  online(orgId: string, userId: string): Promise<boolean>;
  /** Whether the user's token was issued before a revocation of that user. */
  revoked(user: UserPrincipal): Promise<boolean>;
  /** Refuses the user's tokens issued before `before` from now on, and tells every gateway to close those connections. */
  revoke(orgId: string, userId: string, before: number): Promise<void>;
  /** Tells every gateway to close the user's connections. */
  disconnect(orgId: string, userId: string): Promise<void>;
  /** Called with every control message, from this node or any other. */
  onControl(listener: (message: ControlMessage) => void): void;
}

/** How long a connection entry outlives its last renewal: a dead node's connections stop counting after this. */
export const ENTRY_TTL_MS = 60_000;
/** How often a node renews its connections' entries. */
export const RENEW_INTERVAL_MS = 20_000;
/** How long a revocation is kept: longer than any token may live (JWT_MAX_TTL_S's default, 7 days). */
export const REVOCATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Whether a token issued at `issuedAt` (epoch s; unknown without `iat`) falls under a revocation of `before` (epoch ms). */
export function issuedBefore(issuedAt: number | undefined, before: number): boolean {
  return issuedAt === undefined || issuedAt * 1000 < before;
}

/** Reads a control message; undefined for anything else (it came through Redis: never trusted). */
export function parseControl(text: string): ControlMessage | undefined {
  try {
    const value = JSON.parse(text) as Partial<ControlMessage>;
    if ((value.kind !== "revoke" && value.kind !== "disconnect") || typeof value.orgId !== "string" || typeof value.userId !== "string") {
      return undefined;
    }
    if (value.before !== undefined && typeof value.before !== "number") return undefined;
    return value as ControlMessage;
  } catch {
    return undefined;
  }
}
