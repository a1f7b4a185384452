import { type AuthRefreshOk, type Principal, ProtocolError, type RequestOf, subjectOf, type UserPrincipal } from "@hub/events";
import type { UserSessions } from "../protection/user-sessions.js";
import type { HubSocket } from "../protocol/hub-socket.js";
import type { TokenExpiry } from "./token-expiry.js";
import type { TokenVerifier } from "./token-verifier.js";

/**
 * Handles `auth.refresh`: a fresh token for the same subject (and, for users, the same org, since
 * the socket's subscriptions were authorized for it) extends the connection's life.
 */
export async function refreshAuth(
  socket: HubSocket,
  { token }: RequestOf<"auth.refresh">,
  { verifier, sessions, expiry }: { verifier: TokenVerifier; sessions: UserSessions; expiry: TokenExpiry<HubSocket> },
): Promise<AuthRefreshOk> {
  // The contract's auth.refresh codes have no token_missing: an empty token is not a valid one.
  if (token.trim() === "") throw new ProtocolError("token_invalid", "token is empty");
  const next = await verifier.verify(token);
  const current = socket.data.principal;
  if (!sameIdentity(current, next)) {
    throw new ProtocolError("forbidden", "the new token belongs to a different subject");
  }
  if (next.kind === "user" && (await revoked(sessions, next))) throw new ProtocolError("token_revoked", "this token was revoked");
  // The socket may have gone while the token was verified (a JWKS fetch): arm nothing then.
  if (!socket.connected) throw new ProtocolError("bad_request", "the connection closed");
  // Out of the bucket of the old `exp` before the principal (which `exp` is read from) changes.
  expiry.unwatch(socket);
  socket.data.principal = next;
  expiry.watch(socket);
  return { ok: true, exp: next.exp };
}

function sameIdentity(a: Principal, b: Principal): boolean {
  if (a.kind !== b.kind || subjectOf(a) !== subjectOf(b)) return false;
  return a.kind === "service" || (b.kind === "user" && a.orgId === b.orgId);
}

/** Whether the user's token is revoked; `unavailable` when that cannot be known (Redis away). */
async function revoked(sessions: UserSessions, user: UserPrincipal): Promise<boolean> {
  try {
    return await sessions.revoked(user);
  } catch {
    throw new ProtocolError("unavailable", "the token could not be checked; send it again");
  }
}
