/** Who a socket or an HTTP request acts as, after its token was verified. */
export type Principal = UserPrincipal | ServicePrincipal;

export interface UserPrincipal {
  kind: "user";
  /** The token's `sub`. */
  userId: string;
  /** The token's `org_id`. */
  orgId: string;
  roles: readonly string[];
  /** Expiry, epoch seconds. */
  exp: number;
  /** The token's `iat`, epoch seconds, when it has one: a revocation refuses tokens issued before it. */
  issuedAt?: number;
}

export interface ServicePrincipal {
  kind: "service";
  /** The service token's `sub`: the calling service's name. */
  service: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

/** The subject a token speaks for: the user id or the service name. */
export function subjectOf(principal: Principal): string {
  return principal.kind === "user" ? principal.userId : principal.service;
}
