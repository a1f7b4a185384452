import { normalizeId, type Principal, ProtocolError } from "@hub/events";
import type { AuthSettings } from "@hub/runtime";
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";

/** Verifies user and service tokens (docs/protocol.md "Tokens"). */
export interface TokenVerifier {
  /** Resolves the principal; throws `ProtocolError` with `token_missing | token_invalid | token_expired`. */
  verify(token: unknown): Promise<Principal>;
  /**
   * Verifies a subscription token (`subscribe { topic, token }`, `publish { ..., token }`), signed as
   * user tokens are (JWT_SECRET or JWT_JWKS_URL, same issuer and audience rules), and returns its
   * claims; throws `ProtocolError("forbidden")` naming why it is refused.
   */
  verifyGrant(token: string): Promise<GrantClaims>;
}

/** A subscription token's claims (docs/protocol.md "Topic grants"). */
export interface GrantClaims {
  /** The user it was issued to. */
  sub: string;
  /** The one topic it grants. */
  topic: string;
  /** The user's org, when the token names it (multi-tenant backends should). */
  org_id?: string;
  /** Whether it grants publishing too. */
  pub: boolean;
  exp: number;
}

const MAX_TOKEN_LENGTH = 8192;

/**
 * The audience of the bearer token the hub sends to AUTHZ_URL: refused as a service token, so
 * whoever sees the request (the backend, its logs) cannot act as a service with it.
 */
export const AUTHZ_AUDIENCE = "hub-authz";
const ASYMMETRIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/**
 * Service tokens are HS256 with `INTERNAL_JWT_SECRET`; user tokens are HS256 with `JWT_SECRET` or
 * asymmetric through `JWT_JWKS_URL`. Each key accepts only its own algorithms, so `alg: none` and
 * algorithm confusion (an HS256 token signed with a public key) never verify.
 *
 * @example
 * const verifier = createTokenVerifier(config.auth);
 * const principal = await verifier.verify(socket.handshake.auth.token);
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  const encoder = new TextEncoder();
  const internalKey = encoder.encode(settings.internalSecret);
  const userKey = settings.jwtSecret === undefined ? undefined : encoder.encode(settings.jwtSecret);
  const jwks: JWTVerifyGetKey | undefined = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
    : undefined;
  // jose's tolerance lets `nbf` be up to the skew ahead; `checkLifetime` keeps `exp` itself strict.
  const tolerance = { clockTolerance: settings.clockSkewS };
  const userClaims = {
    ...tolerance,
    requiredClaims: ["exp", "sub"],
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience }),
  };

  async function verifyUser(token: string, alg: string): Promise<Principal> {
    let payload: JWTPayload;
    if (alg === "HS256") {
      if (!userKey) throw invalid("HS256 user tokens are not accepted (no JWT_SECRET)");
      ({ payload } = await jwtVerify(token, userKey, { ...userClaims, algorithms: ["HS256"] }));
    } else {
      if (!jwks) throw invalid(`algorithm ${alg} is not accepted`);
      ({ payload } = await jwtVerify(token, jwks, { ...userClaims, algorithms: ASYMMETRIC_ALGS }));
    }
    checkLifetime(payload);
    // A subscription token grants one topic; it must not open a connection for its holder's whole identity.
    if (payload.topic !== undefined) throw invalid("a subscription token (claim topic) is not a connection token");
    const userId = readIdentity(payload.sub);
    const orgId = readIdentity(payload.org_id);
    if (userId === undefined) throw invalid(`claim sub must be a non-empty string of at most ${MAX_IDENTITY_LENGTH} characters`);
    if (orgId === undefined) throw invalid(`claim org_id is required: a non-empty string of at most ${MAX_IDENTITY_LENGTH} characters`);
    const roles = payload.roles ?? [];
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === "string")) throw invalid("claim roles must be a list of strings");
    const issuedAt = typeof payload.iat === "number" ? payload.iat : undefined;
    return { kind: "user", userId, orgId, roles, exp: payload.exp as number, ...(issuedAt === undefined ? {} : { issuedAt }) };
  }

  async function verifyService(token: string): Promise<Principal | undefined> {
    try {
      const { payload } = await jwtVerify(token, internalKey, { ...tolerance, algorithms: ["HS256"], requiredClaims: ["exp", "sub"] });
      checkLifetime(payload);
      // The bearer token the hub sends to AUTHZ_URL is for that backend only: it never acts as a service here.
      const audience = payload.aud;
      if (audience === AUTHZ_AUDIENCE || (Array.isArray(audience) && audience.includes(AUTHZ_AUDIENCE))) {
        throw invalid("a token for the authorization backend is not a service token");
      }
      if (typeof payload.sub !== "string" || payload.sub === "") throw invalid("claim sub must name the service");
      return { kind: "service", service: payload.sub, exp: payload.exp as number };
    } catch (error) {
      // Not signed with the internal secret: it may still be a user token.
      if (error instanceof errors.JWSSignatureVerificationFailed) return undefined;
      throw error;
    }
  }

  /**
   * What jose does not bound: a token that expired within the skew (still `token_expired`: the
   * connection's timer fires at `exp`), `exp` past `JWT_MAX_TTL_S` from now or from `iat` (a token
   * that never expires), `iat` in the future beyond the skew.
   */
  function checkLifetime(payload: JWTPayload): void {
    const now = Date.now() / 1000;
    const exp = payload.exp as number;
    const { iat } = payload;
    if (exp <= now) throw new ProtocolError("token_expired", "token has expired");
    if (exp > now + settings.maxTtlS + settings.clockSkewS) {
      throw invalid(`claim exp is more than JWT_MAX_TTL_S (${settings.maxTtlS} s) from now`);
    }
    if (iat === undefined) return;
    if (iat > now + settings.clockSkewS) throw invalid(`claim iat is more than ${settings.clockSkewS} s in the future`);
    if (exp - iat > settings.maxTtlS) throw invalid(`claim exp is more than JWT_MAX_TTL_S (${settings.maxTtlS} s) after iat`);
  }

  async function verifyGrant(token: string): Promise<GrantClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw forbidden("subscription token is too long");
    let payload: JWTPayload;
    try {
      const { alg } = decodeProtectedHeader(token);
      if (alg === "HS256") {
        if (!userKey) throw forbidden("HS256 subscription tokens are not accepted (no JWT_SECRET)");
        ({ payload } = await jwtVerify(token, userKey, { ...userClaims, algorithms: ["HS256"] }));
      } else {
        if (!jwks) throw forbidden(`algorithm ${String(alg)} is not accepted`);
        ({ payload } = await jwtVerify(token, jwks, { ...userClaims, algorithms: ASYMMETRIC_ALGS }));
      }
      checkLifetime(payload);
    } catch (error) {
      const refused = error instanceof ProtocolError ? error : toProtocolError(error);
      throw refused.code === "forbidden" ? refused : forbidden(`subscription token refused: ${refused.message}`);
    }
    const { topic, org_id: org, pub } = payload;
    // As in user tokens, an integer id (Rails) is its decimal string.
    const sub = readIdentity(payload.sub);
    if (sub === undefined || typeof topic !== "string") throw forbidden("subscription token has no sub or topic claim");
    const orgId = org === undefined ? undefined : readIdentity(org);
    if (org !== undefined && orgId === undefined) throw forbidden("subscription token's org_id claim is malformed");
    if (pub !== undefined && typeof pub !== "boolean") throw forbidden("subscription token's pub claim must be a boolean");
    return { sub, topic, ...(orgId === undefined ? {} : { org_id: orgId }), pub: pub === true, exp: payload.exp as number };
  }

  return {
    verifyGrant,
    async verify(token) {
      if (token === undefined || token === null || token === "") {
        throw new ProtocolError("token_missing", "no token: connect with io(url, { auth: { token } })");
      }
      if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) throw invalid("token must be a JWT string");
      try {
        const { alg } = decodeProtectedHeader(token);
        if (typeof alg !== "string") throw invalid("token header has no alg");
        if (alg === "HS256") {
          const service = await verifyService(token);
          if (service) return service;
        }
        return await verifyUser(token, alg);
      } catch (error) {
        throw toProtocolError(error);
      }
    },
  };
}

/** Longest `sub` / `org_id` a user token may carry. */
const MAX_IDENTITY_LENGTH = 256;
/**
 * Control characters (C0, DEL, C1; presence entries are `sub\norg_id`), format characters (bidi
 * overrides, zero-width: look-alike ids in presence and logs) and lone surrogates: never part of an identity.
 */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}]/u;

/**
 * A user token's `sub` or `org_id`: any string an identity provider may use (`auth0|abc`, an email,
 * a UUID) of 1 to 256 characters, without control, format or lone surrogate characters, and not only
 * whitespace; a non-negative integer becomes its decimal string. The value is not required to be
 * a topic id: a topic built from it (`notifications:{sub}`, `org:{org_id}`) that is not a valid
 * topic is refused by the topic rules (`invalid_topic`), never matched against it.
 */
function readIdentity(value: unknown): string | undefined {
  if (typeof value === "number") return normalizeId(value);
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_IDENTITY_LENGTH) return undefined;
  if (UNSAFE_CHARACTERS.test(value) || value.trim() === "") return undefined;
  return value;
}

function forbidden(message: string): ProtocolError {
  return new ProtocolError("forbidden", message);
}

function invalid(message: string): ProtocolError {
  return new ProtocolError("token_invalid", message);
}

function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof errors.JWTExpired) return new ProtocolError("token_expired", "token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf" && error.reason === "check_failed") return invalid("claim nbf is in the future: the token is not valid yet");
    return invalid(`claim ${error.claim} ${error.reason}`);
  }
  if (error instanceof errors.JOSEError) return invalid("token could not be verified");
  return invalid("token is malformed");
}
