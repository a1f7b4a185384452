import { SignJWT } from "jose";

/** How long the hub's own bearer tokens live; one is reused until half of it is gone. */
const TOKEN_TTL_S = 300;

/**
 * The bearer token the hub sends to a backend it calls (the grant check, the push hook): HS256
 * with `INTERNAL_JWT_SECRET`, `sub: "hub"`, an audience per purpose, so a token for one is useless
 * for another (and as a service token).
 *
 * @example
 * const bearer = hubBearer(config.auth.internalSecret, "hub-push");
 * await fetch(url, { headers: { authorization: `Bearer ${await bearer()}` } });
 */
export function hubBearer(internalSecret: string, audience: string, now: () => number = Date.now): () => Promise<string> {
  const secret = new TextEncoder().encode(internalSecret);
  let current: { token: string; renewAt: number } | undefined;
  return async () => {
    if (current && current.renewAt > now()) return current.token;
    const issuedAt = Math.floor(now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("hub")
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + TOKEN_TTL_S)
      .sign(secret);
    current = { token, renewAt: now() + (TOKEN_TTL_S * 1000) / 2 };
    return token;
  };
}
