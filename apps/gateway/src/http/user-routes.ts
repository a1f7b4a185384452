import { Type } from "@sinclair/typebox";
import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import type { UserSessions } from "../protection/user-sessions.js";
import { engineAvailable } from "./engine-available.js";
import { jsonBody } from "./json-body.js";
import type { RouteSpec } from "./route-spec.js";
import { serviceOnly } from "./service-auth.js";
import { validateRequest } from "./validate-request.js";

/** The longest user or org id a token may carry (the token verifier's bound). */
const MAX_ID_LENGTH = 256;

const UserParams = Type.Object({
  user_id: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, "x-error-message": "user_id must be a user id" }),
});
/** The user's org: a user id is only unique within it. Integers (Rails) are taken as their decimal string. */
const OrgId = Type.Union(
  [
    Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }),
    Type.Integer({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
  ],
  { "x-error-message": "org_id (the user's org) is required" },
);
const Target = { user_id: Type.String(), org_id: Type.String() };
const ERRORS = ["bad_request", "unauthorized", "forbidden", "payload_too_large", "unavailable", "internal"] as const;

/** The routes acting on a user's connections, as registered and as `/openapi.json` describes them. */
export const USER_ROUTES = {
  revoke: {
    method: "post",
    path: "/api/v1/users/:user_id/revoke",
    operationId: "revokeUserTokens",
    tag: "users",
    summary: "Refuse a user's tokens issued before a time, and close the connections holding them",
    description: "Applies on every gateway; the user's live connections close within a second.",
    security: "service",
    params: UserParams,
    body: Type.Object(
      {
        org_id: OrgId,
        before: Type.Optional(
          Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()], {
            description: "epoch milliseconds (default, or null: now)",
            "x-error-message": "before must be epoch milliseconds",
          }),
        ),
      },
      { "x-error-message": "body must be { org_id }" },
    ),
    responses: {
      202: { description: "Revoked", schema: Type.Object({ ...Target, before: Type.Integer({ description: "epoch milliseconds" }) }) },
    },
    errors: ERRORS,
  },
  disconnect: {
    method: "post",
    path: "/api/v1/users/:user_id/disconnect",
    operationId: "disconnectUser",
    tag: "users",
    summary: "Close a user's connections (their clients may reconnect with their tokens)",
    security: "service",
    params: UserParams,
    body: Type.Object({ org_id: OrgId }, { "x-error-message": "body must be { org_id }" }),
    responses: { 202: { description: "Disconnecting", schema: Type.Object(Target) } },
    errors: ERRORS,
  },
} as const satisfies Record<string, RouteSpec>;

export interface UserRoutesOptions {
  /** Whether Redis answers: requests are refused `503 unavailable` while it does not. */
  health: EngineHealth;
  sessions: UserSessions;
  verifier: TokenVerifier;
}

/**
 * Service routes acting on a user's connections, on every gateway within a second:
 * - `POST /api/v1/users/:user_id/revoke` `{ org_id, before? }`: the user's tokens issued before
 *   `before` (epoch ms, default now) are refused from now on, and the connections holding them close;
 * - `POST /api/v1/users/:user_id/disconnect` `{ org_id }`: the user's connections close (their
 *   clients may reconnect with their tokens).
 * A user id is only unique within its org: `org_id` is required. Both answer `202`.
 */
export function userRoutes({ health, sessions, verifier }: UserRoutesOptions): Router {
  const router = Router();
  const guards = [serviceOnly(verifier), engineAvailable(health), jsonBody];
  const { revoke, disconnect } = USER_ROUTES;

  router.post(revoke.path, ...guards, validateRequest(revoke), async (req, res) => {
    const { userId, orgId } = target(req.params, req.body);
    const before = (req.body as { before?: number | null }).before ?? Date.now();
    await sessions.revoke(orgId, userId, before);
    res.status(202).json({ user_id: userId, org_id: orgId, before });
  });

  router.post(disconnect.path, ...guards, validateRequest(disconnect), async (req, res) => {
    const { userId, orgId } = target(req.params, req.body);
    await sessions.disconnect(orgId, userId);
    res.status(202).json({ user_id: userId, org_id: orgId });
  });

  return router;
}

/** The user and org of a request the route's schemas accepted. */
function target(params: Record<string, unknown>, body: unknown): { userId: string; orgId: string } {
  return { userId: String(params.user_id), orgId: String((body as { org_id: string | number }).org_id) };
}
