import type { Call, CallCommand, EntityEmission, EntityRuntime, Huddle, HuddleCommand, Machine } from "@hub/entities";
import type { UserPrincipal } from "@hub/events";
import { ProtocolError } from "@hub/events";
import type { TopicGrants } from "../auth/topic-grants.js";
import type { PublishRate } from "../protection/publish-rate.js";
import type { UserSessions } from "../protection/user-sessions.js";
import type { HubSocket } from "../protocol/hub-socket.js";
import type { CallLines } from "./call-lines.js";

/** What the call and huddle requests of one gateway work with. */
export interface RtcContext {
  runtime: EntityRuntime;
  calls: Machine<Call, CallCommand>;
  huddles: Machine<Huddle, HuddleCommand>;
  lines: CallLines;
  /** Whether a callee has a connection (then they are of the caller's org). */
  sessions: UserSessions;
  /** The backend check (`AUTHZ_URL`, action `call`) for a callee with no connection. */
  grants: TopicGrants;
  /**
   * The user's client publication rate (CLIENT_PUBLISH_RATE, CLIENT_PUBLISH_BURST), cluster-wide: each call placed is an
   * event a user sends to others, charged 1; each huddle invitee 0.1.
   */
  rate: PublishRate;
  /** Delivers a relayed signalling message (the entity runtime's event delivery). */
  deliver(emission: EntityEmission): Promise<void>;
  /** Server-side subscribe and unsubscribe of a socket to a huddle's topic. */
  join(socket: HubSocket, topic: string): Promise<void>;
  leave(socket: HubSocket, topic: string): Promise<void>;
  available(): boolean;
  nodeId: string;
  /** HUDDLE_MAX_PARTICIPANTS: a huddle's default and ceiling. */
  maxParticipants: number;
}

/** The user a call or huddle request acts for; services use the HTTP routes. */
export function userOf(socket: HubSocket, what: string): UserPrincipal {
  const principal = socket.data.principal;
  if (principal.kind !== "user") throw new ProtocolError("forbidden", `${what} act for a user; services use the HTTP routes`);
  return principal;
}

/** Refuses a request while Redis is away (nothing can be committed). */
export function ensureAvailable(context: RtcContext): void {
  if (!context.available()) throw new ProtocolError("unavailable", "Redis is unreachable; retry shortly");
}

/** This connection as a huddle participant's connection: `<node>/<socket id>`. */
export function connectionOf(context: RtcContext, socket: HubSocket): string {
  return `${context.nodeId}/${socket.id}`;
}

/** Charges `cost` to the user's client publication rate: `rate_limited` past it. */
export async function chargeRate(context: RtcContext, user: UserPrincipal, cost: number): Promise<void> {
  const decision = await context.rate.take(user.orgId, user.userId, cost);
  if (!decision.allowed) {
    throw new ProtocolError("rate_limited", `too many calls or invitations; retry in ${decision.retryAfterMs} ms`, decision.retryAfterMs);
  }
}
