import { SignJWT } from "jose";

/** Secrets the test gateways are started with. */
export const TEST_JWT_SECRET = "test-user-secret-0123456789abcdef0123";
export const TEST_INTERNAL_SECRET = "test-internal-secret-0123456789abcdef";

export interface UserClaims {
  sub: string | number;
  org_id?: string | number;
  roles?: string[];
}

export interface SignOptions {
  /** Seconds from now; negative for an already expired token. @default 3600 */
  expiresIn?: number;
  secret?: string;
  /** Extra claims, e.g. `iss` / `aud`. */
  extra?: Record<string, unknown>;
}

/** An HS256 user token. */
export function userToken(claims: UserClaims, options: SignOptions = {}): Promise<string> {
  return sign({ ...claims, ...options.extra }, options.secret ?? TEST_JWT_SECRET, options.expiresIn);
}

/** What a subscription token grants (docs/protocol.md "Topic grants"). */
export interface GrantClaims {
  sub: string;
  topic: string;
  org_id?: string;
  /** May publish too. */
  pub?: boolean;
}

/** An HS256 subscription token, as a backend hands one to a member of a conversation. */
export function subscriptionToken(claims: GrantClaims, options: SignOptions = {}): Promise<string> {
  return sign({ ...claims, ...options.extra }, options.secret ?? TEST_JWT_SECRET, options.expiresIn);
}

/** An HS256 service token. */
export function serviceToken(service = "test-backend", options: SignOptions = {}): Promise<string> {
  return sign({ sub: service, ...options.extra }, options.secret ?? TEST_INTERNAL_SECRET, options.expiresIn);
}

function sign(claims: Record<string, unknown>, secret: string, expiresIn = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn)
    .sign(new TextEncoder().encode(secret));
}
