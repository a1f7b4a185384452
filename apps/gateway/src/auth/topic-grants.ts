import { createHash } from "node:crypto";
import { ProtocolError, type UserPrincipal } from "@hub/events";
import type { AuthzSettings } from "@hub/runtime";
import { hubBearer } from "./hub-bearer.js";
import { AUTHZ_AUDIENCE, type GrantClaims, type TokenVerifier } from "./token-verifier.js";

/** What a grant is for. */
export type GrantAction = "subscribe" | "publish" | "call";

/** How one backend check ended, for metrics. */
export type AuthzOutcome = "allow" | "deny" | "unavailable" | "cached";

/**
 * Grants on topics of `authorize: "grant"` namespaces (docs/protocol.md "Topic grants"): a
 * subscription token decides when the request carries one, the backend check (`AUTHZ_URL`)
 * otherwise.
 */
export interface TopicGrants {
  /** Resolves when the user holds a grant for the action on the topic; throws `forbidden`, `unavailable` or `rate_limited`. */
  check(user: UserPrincipal, topic: string, action: Exclude<GrantAction, "call">, token: string | undefined): Promise<void>;
  /**
   * Whether the backend (`AUTHZ_URL`, action `call` with `callee_id`) says the user may call
   * `calleeId` of their org; false without `AUTHZ_URL`. Throws `unavailable` when it does not answer.
   */
  mayCall(user: UserPrincipal, calleeId: string): Promise<boolean>;
}

export interface TopicGrantsOptions {
  verifier: TokenVerifier;
  /** Undefined without `AUTHZ_URL`: only subscription tokens grant. */
  authz: AuthzSettings | undefined;
  /** Signs the backend check's bearer token (`sub: "hub"`, `aud: AUTHZ_AUDIENCE`). */
  internalSecret: string;
  /**
   * Whether a subscription token must name the user's org (`org_id`). User ids are only unique
   * within an org: without it, a token for user `7` of one org would open the same conversation
   * id in every org where a user `7` exists. @default true (`GRANT_TOKEN_ORG`: `required` in production)
   */
  requireOrg?: boolean;
  onCheck?(outcome: AuthzOutcome): void;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default Date.now */
  now?: () => number;
}

/** Grants kept at most; past it, the oldest go. */
const MAX_CACHED_GRANTS = 100_000;
/** Verified subscription tokens kept at most (a client sends its token with every publication). */
const MAX_CACHED_TOKENS = 20_000;
/** Backend checks in flight at most per gateway; past it a check is refused `unavailable` at once. */
const MAX_CHECKS_IN_FLIGHT = 512;
/** Backend checks in flight at most per user: one user cannot take the gateway's share. */
const MAX_CHECKS_IN_FLIGHT_PER_USER = 16;

export function createTopicGrants(options: TopicGrantsOptions): TopicGrants {
  const { verifier, authz } = options;
  const requireOrg = options.requireOrg ?? true;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  // Both caches evict their oldest entry when full (a Map iterates in insertion order) and drop
  // expired ones when read: no insertion ever scans them.
  const grants = new Map<string, number>();
  // Verifying a JWT is most of a publication's CPU: a token's claims are kept until it expires,
  // under the token's digest (a token may be 8 KiB).
  const tokens = new Map<string, GrantClaims>();
  const inFlight = new Map<string, Promise<boolean>>();
  const inFlightByUser = new Map<string, number>();

  const serviceToken = hubBearer(options.internalSecret, AUTHZ_AUDIENCE, now);

  /** Asks the backend; true only on `200 { allow: true }`. Throws `unavailable` when it does not answer in time. */
  async function ask(settings: AuthzSettings, user: UserPrincipal, topic: string, action: GrantAction): Promise<boolean> {
    let response: Response;
    try {
      response = await doFetch(settings.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await serviceToken()}` },
        body: JSON.stringify({
          action,
          user_id: user.userId,
          org_id: user.orgId,
          topic,
          ...(action === "call" ? { callee_id: topic.slice(topic.indexOf(":") + 1) } : {}),
        }),
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
    } catch {
      options.onCheck?.("unavailable");
      throw new ProtocolError("unavailable", "the authorization backend did not answer in time; try again");
    }
    let allow = false;
    if (response.status === 200) {
      try {
        allow = ((await response.json()) as { allow?: unknown } | null)?.allow === true;
      } catch {
        allow = false;
      }
    } else {
      await response.body?.cancel();
    }
    options.onCheck?.(allow ? "allow" : "deny");
    return allow;
  }

  async function backendCheck(settings: AuthzSettings, user: UserPrincipal, topic: string, action: GrantAction): Promise<void> {
    const userKey = `${user.orgId}\n${user.userId}`;
    const key = `${action}\n${userKey}\n${topic}`;
    const cached = grants.get(key);
    if (cached !== undefined) {
      if (cached > now()) {
        options.onCheck?.("cached");
        return;
      }
      grants.delete(key);
    }
    // Concurrent checks of the same grant share one request.
    let pending = inFlight.get(key);
    if (!pending) {
      const mine = inFlightByUser.get(userKey) ?? 0;
      if (mine >= MAX_CHECKS_IN_FLIGHT_PER_USER) {
        throw new ProtocolError("rate_limited", "too many authorization checks of yours in flight; slow down", 100);
      }
      if (inFlight.size >= MAX_CHECKS_IN_FLIGHT) {
        options.onCheck?.("unavailable");
        throw new ProtocolError("unavailable", "too many authorization checks in flight; try again");
      }
      inFlightByUser.set(userKey, mine + 1);
      pending = ask(settings, user, topic, action).finally(() => {
        inFlight.delete(key);
        const left = (inFlightByUser.get(userKey) ?? 1) - 1;
        if (left > 0) inFlightByUser.set(userKey, left);
        else inFlightByUser.delete(userKey);
      });
      inFlight.set(key, pending);
    }
    if (!(await pending)) throw new ProtocolError("forbidden", `not allowed to ${action} on ${topic}`);
    if (settings.cacheMs > 0) remember(grants, key, now() + settings.cacheMs, MAX_CACHED_GRANTS);
  }

  /** A subscription token's claims: verified once, then kept until `exp` (refusals are not kept). */
  async function claimsOf(token: string): Promise<GrantClaims> {
    const digest = createHash("sha256").update(token).digest("base64");
    const known = tokens.get(digest);
    if (known && known.exp * 1000 > now()) return known;
    if (known) tokens.delete(digest);
    const claims = await verifier.verifyGrant(token);
    remember(tokens, digest, claims, MAX_CACHED_TOKENS);
    return claims;
  }

  return {
    async check(user, topic, action, token) {
      if (token !== undefined) {
        const claims = await claimsOf(token);
        if (claims.sub !== user.userId) throw new ProtocolError("forbidden", "the subscription token was issued to another user");
        if (claims.org_id === undefined && requireOrg) {
          throw new ProtocolError("forbidden", "the subscription token must name the user's org (claim org_id)");
        }
        if (claims.org_id !== undefined && claims.org_id !== user.orgId) {
          throw new ProtocolError("forbidden", "the subscription token was issued in another org");
        }
        if (claims.topic !== topic) throw new ProtocolError("forbidden", `the subscription token grants ${claims.topic}, not ${topic}`);
        if (action === "publish" && !claims.pub)
          throw new ProtocolError("forbidden", "the subscription token does not grant publishing (claim pub)");
        return;
      }
      if (!authz) throw new ProtocolError("forbidden", `${topic} needs a grant: send a subscription token ({ topic, token })`);
      await backendCheck(authz, user, topic, action);
    },
    async mayCall(user, calleeId) {
      if (!authz) return false;
      try {
        await backendCheck(authz, user, `webrtc:${calleeId}`, "call");
        return true;
      } catch (error) {
        if (error instanceof ProtocolError && error.code === "forbidden") return false;
        throw error;
      }
    },
  };
}

/** Sets an entry, first evicting the oldest insertions while the map is full. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  for (const oldest of map.keys()) {
    if (map.size < max) break;
    map.delete(oldest);
  }
  map.set(key, value);
}
