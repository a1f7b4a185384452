import { topicOfRoom } from "@hub/events";
import { Type } from "@sinclair/typebox";
import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import type { Presence } from "../presence/presence.js";
import { engineAvailable } from "./engine-available.js";
import { HttpError } from "./http-error.js";
import type { RouteSpec } from "./route-spec.js";
import { serviceOnly } from "./service-auth.js";
import { validateRequest } from "./validate-request.js";

/** The longest user or org id a token may carry (the token verifier's bound). */
const MAX_ID_LENGTH = 256;
/** Users `GET /api/v1/presence` lists without a `limit`. */
export const DEFAULT_ORG_PRESENCE_LIMIT = 1_000;
/** The largest `limit` of `GET /api/v1/presence`. */
export const MAX_ORG_PRESENCE_LIMIT = 10_000;

const OrgQuery = Type.String({
  minLength: 1,
  maxLength: MAX_ID_LENGTH,
  description: "the org (a user id is only unique within it)",
  "x-error-message": "org_id (the user's org) is required: ?org_id=",
});
const Since = Type.Integer({ description: "epoch milliseconds" });
const ERRORS = ["bad_request", "unauthorized", "forbidden", "unavailable", "internal"] as const;

/** The presence routes, as registered and as `/openapi.json` describes them. */
export const PRESENCE_ROUTES = {
  user: {
    method: "get",
    path: "/api/v1/presence/:user_id",
    operationId: "userPresence",
    tag: "presence",
    summary: "Whether a user is online, on which topics, since when (cluster-wide)",
    security: "service",
    params: Type.Object({
      user_id: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, "x-error-message": "user_id must be a user id" }),
    }),
    query: Type.Object({ org_id: OrgQuery }),
    responses: {
      200: {
        description: "The user's presence; `since` is the earliest of its topics' (absent when offline)",
        schema: Type.Object({
          user_id: Type.String(),
          org_id: Type.String(),
          online: Type.Boolean(),
          since: Type.Optional(Since),
          topics: Type.Array(Type.Object({ topic: Type.String(), since: Since })),
        }),
      },
    },
    errors: ERRORS,
  },
  org: {
    method: "get",
    path: "/api/v1/presence",
    operationId: "orgPresence",
    tag: "presence",
    summary: "The online users of an org, earliest first",
    security: "service",
    query: Type.Object({
      org_id: OrgQuery,
      limit: Type.Optional(
        Type.String({
          pattern: "^\\d+$",
          description: `most users listed, 1 to ${MAX_ORG_PRESENCE_LIMIT} (default ${DEFAULT_ORG_PRESENCE_LIMIT})`,
          "x-error-message": `limit must be an integer from 1 to ${MAX_ORG_PRESENCE_LIMIT}`,
        }),
      ),
    }),
    responses: {
      200: {
        description: "The org's online users; `truncated` when there were more than `limit`",
        schema: Type.Object({
          org_id: Type.String(),
          users: Type.Array(Type.Object({ user_id: Type.String(), since: Since })),
          truncated: Type.Boolean(),
        }),
      },
    },
    errors: ERRORS,
  },
} as const satisfies Record<string, RouteSpec>;

export interface PresenceRoutesOptions {
  /** Whether Redis answers: requests are refused `503 unavailable` while it does not. */
  health: EngineHealth;
  presence: Presence;
  verifier: TokenVerifier;
}

/**
 * Service routes answering who is online, cluster-wide (a user id is only unique within its org:
 * `org_id` is required):
 * - `GET /api/v1/presence/:user_id?org_id=` -> `{ user_id, org_id, online, since?, topics: [{ topic, since }] }`;
 * - `GET /api/v1/presence?org_id=&limit=` -> `{ org_id, users: [{ user_id, since }], truncated }`,
 *   earliest first, at most `limit` (default 1000, at most 10000).
 *
 * @example
 * app.use(presenceRoutes({ health, presence, verifier }));
 */
export function presenceRoutes({ health, presence, verifier }: PresenceRoutesOptions): Router {
  const router = Router();
  const guards = [serviceOnly(verifier), engineAvailable(health)];

  const { user, org } = PRESENCE_ROUTES;

  router.get(user.path, ...guards, validateRequest(user), async (req, res) => {
    const userId = String(req.params.user_id);
    const orgId = String(req.query.org_id);
    const topics = (await presence.userTopics(orgId, userId)).map(({ id, since }) => ({ topic: topicOfRoom(id), since }));
    const since = topics.length > 0 ? Math.min(...topics.map((t) => t.since)) : undefined;
    res.json({ user_id: userId, org_id: orgId, online: topics.length > 0, ...(since === undefined ? {} : { since }), topics });
  });

  router.get(org.path, ...guards, validateRequest(org), async (req, res) => {
    const orgId = String(req.query.org_id);
    const limit = limitOf(req.query.limit as string | undefined);
    const { users, truncated } = await presence.orgUsers(orgId, limit);
    res.json({ org_id: orgId, users: users.map(({ id, since }) => ({ user_id: id, since })), truncated });
  });

  return router;
}

/** The schema checked the digits; the range is checked here. */
function limitOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_ORG_PRESENCE_LIMIT;
  const limit = Number(value);
  if (!(limit >= 1 && limit <= MAX_ORG_PRESENCE_LIMIT)) {
    throw new HttpError("bad_request", `limit must be an integer from 1 to ${MAX_ORG_PRESENCE_LIMIT}`);
  }
  return limit;
}
