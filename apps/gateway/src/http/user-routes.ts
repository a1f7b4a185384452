import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import type { UserSessions } from "../protection/user-sessions.js";
import { engineAvailable } from "./engine-available.js";
import { HttpError } from "./http-error.js";
import { jsonBody } from "./json-body.js";
import { serviceOnly } from "./service-auth.js";

/** The longest user or org id a token may carry (the token verifier's bound). */
const MAX_ID_LENGTH = 256;

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

  router.post("/api/v1/users/:user_id/revoke", ...guards, async (req, res) => {
    const { userId, orgId, body } = target(String(req.params.user_id ?? ""), req.body);
    const before = body.before ?? Date.now();
    if (typeof before !== "number" || !Number.isSafeInteger(before) || before < 0) {
      throw new HttpError("bad_request", "before must be epoch milliseconds");
    }
    await sessions.revoke(orgId, userId, before);
    res.status(202).json({ user_id: userId, org_id: orgId, before });
  });

  router.post("/api/v1/users/:user_id/disconnect", ...guards, async (req, res) => {
    const { userId, orgId } = target(String(req.params.user_id ?? ""), req.body);
    await sessions.disconnect(orgId, userId);
    res.status(202).json({ user_id: userId, org_id: orgId });
  });

  return router;
}

function target(userId: string, body: unknown): { userId: string; orgId: string; body: Record<string, unknown> } {
  if (!userId || userId.length > MAX_ID_LENGTH) throw new HttpError("bad_request", "user_id must be a user id");
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError("bad_request", "body must be { org_id }");
  const fields = body as Record<string, unknown>;
  const orgId = typeof fields.org_id === "number" && Number.isSafeInteger(fields.org_id) ? String(fields.org_id) : fields.org_id;
  if (typeof orgId !== "string" || orgId === "" || orgId.length > MAX_ID_LENGTH) {
    throw new HttpError("bad_request", "org_id (the user's org) is required");
  }
  return { userId, orgId, body: fields };
}
