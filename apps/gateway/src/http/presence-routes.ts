import { topicOfRoom } from "@hub/events";
import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import type { Presence } from "../presence/presence.js";
import { engineAvailable } from "./engine-available.js";
import { HttpError } from "./http-error.js";
import { serviceOnly } from "./service-auth.js";

/** The longest user or org id a token may carry (the token verifier's bound). */
const MAX_ID_LENGTH = 256;
/** Users `GET /api/v1/presence` lists without a `limit`. */
export const DEFAULT_ORG_PRESENCE_LIMIT = 1_000;
/** The largest `limit` of `GET /api/v1/presence`. */
export const MAX_ORG_PRESENCE_LIMIT = 10_000;

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

  router.get("/api/v1/presence/:user_id", ...guards, async (req, res) => {
    const userId = String(req.params.user_id ?? "");
    if (!userId || userId.length > MAX_ID_LENGTH) throw new HttpError("bad_request", "user_id must be a user id");
    const orgId = orgOf(req.query.org_id);
    const topics = (await presence.userTopics(orgId, userId)).map(({ id, since }) => ({ topic: topicOfRoom(id), since }));
    const since = topics.length > 0 ? Math.min(...topics.map((t) => t.since)) : undefined;
    res.json({ user_id: userId, org_id: orgId, online: topics.length > 0, ...(since === undefined ? {} : { since }), topics });
  });

  router.get("/api/v1/presence", ...guards, async (req, res) => {
    const orgId = orgOf(req.query.org_id);
    const limit = limitOf(req.query.limit);
    const { users, truncated } = await presence.orgUsers(orgId, limit);
    res.json({ org_id: orgId, users: users.map(({ id, since }) => ({ user_id: id, since })), truncated });
  });

  return router;
}

function orgOf(value: unknown): string {
  if (typeof value !== "string" || value === "" || value.length > MAX_ID_LENGTH) {
    throw new HttpError("bad_request", "org_id (the user's org) is required: ?org_id=");
  }
  return value;
}

function limitOf(value: unknown): number {
  if (value === undefined) return DEFAULT_ORG_PRESENCE_LIMIT;
  const limit = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_ORG_PRESENCE_LIMIT)) {
    throw new HttpError("bad_request", `limit must be an integer from 1 to ${MAX_ORG_PRESENCE_LIMIT}`);
  }
  return limit;
}
