/** Never refresh more often than this, whatever the token says (a token that is already expired, a clock far off). */
export const MIN_REFRESH_DELAY_MS = 1_000;

/** A JWT's claims, read without verifying it (the server verifies); `undefined` when the token is not a JWT. */
function claimsOf(token: string): Record<string, unknown> | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined || payload.length === 0) return undefined;
  try {
    const base64 = payload
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(payload.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The `exp` claim (epoch seconds) of a JWT; `undefined` when the token is not a JWT or has no numeric `exp`. */
export function tokenExpiry(token: string): number | undefined {
  const exp = claimsOf(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp : undefined;
}

/** The `sub` claim of a JWT (the user id of a user token); `undefined` when there is none. */
export function tokenSubject(token: string): string | undefined {
  const sub = claimsOf(token)?.sub;
  return typeof sub === "string" && sub.length > 0 ? sub : undefined;
}

/**
 * How long to wait before sending a fresh token: `leadMs` before `exp`, or a third of the remaining
 * lifetime before it when that is shorter (short-lived tokens), and never less than
 * {@link MIN_REFRESH_DELAY_MS}.
 */
export function refreshDelay(exp: number, now: number, leadMs: number): number {
  const remaining = exp * 1000 - now;
  const lead = Math.min(leadMs, remaining / 3);
  return Math.max(MIN_REFRESH_DELAY_MS, Math.floor(remaining - lead));
}
