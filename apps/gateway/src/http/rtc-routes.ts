import type { Call } from "@hub/entities";
import { ERROR_CODES, ID_SEGMENT, ProtocolError } from "@hub/events";
import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import { invite, openHuddle, participantsOf, readHuddle } from "../rtc/huddle-requests.js";
import type { RtcContext } from "../rtc/rtc-context.js";
import { engineAvailable } from "./engine-available.js";
import { HttpError, type HttpErrorCode } from "./http-error.js";
import { jsonBody } from "./json-body.js";
import { serviceOnly } from "./service-auth.js";

export interface RtcRoutesOptions {
  health: EngineHealth;
  verifier: TokenVerifier;
  rtc: RtcContext;
}

/**
 * Service routes of calls and huddles (docs/protocol.md "Calls", "Huddles"):
 * - `GET /api/v1/calls/:call_id[?org_id=]`: the call's state and parties;
 * - `POST /api/v1/huddles` `{ org_id, conversation_id, max?, created_by? }`: the conversation's
 *   huddle, created if it has none (`201` when created, `200` when it existed);
 * - `GET /api/v1/huddles/:huddle_id[?org_id=]`: the huddle and its participants;
 * - `POST /api/v1/huddles/:huddle_id/invite` `{ org_id, user_ids, by? }` -> `202`.
 */
export function rtcRoutes({ health, verifier, rtc }: RtcRoutesOptions): Router {
  const router = Router();
  const guards = [serviceOnly(verifier), engineAvailable(health)];

  router.get("/api/v1/calls/:call_id", ...guards, async (req, res) => {
    const callId = String(req.params.call_id ?? "");
    const orgId = optionalOrg(req.query.org_id);
    const call = ID_SEGMENT.test(callId) ? await rtc.runtime.read(rtc.calls, callId) : null;
    if (call === null || (orgId !== undefined && call.org_id !== orgId)) throw new HttpError("not_found", "no such call");
    res.json(callView(call));
  });

  router.post("/api/v1/huddles", ...guards, jsonBody, async (req, res) => {
    const body = objectBody(req.body);
    const orgId = requiredId(body.org_id, "org_id");
    const conversationId = requiredId(body.conversation_id, "conversation_id");
    const by = body.created_by === undefined ? null : requiredId(body.created_by, "created_by");
    const max = body.max;
    if (max !== undefined && (!Number.isInteger(max) || (max as number) < 2))
      throw new HttpError("bad_request", "max must be an integer of at least 2");
    const opened = await httpErrors(() => openHuddle(rtc, orgId, conversationId, by, max as number | undefined));
    res.status(opened.created ? 201 : 200).json({ huddle_id: opened.huddle_id, created: opened.created });
  });

  router.get("/api/v1/huddles/:huddle_id", ...guards, async (req, res) => {
    const huddle = await readHuddle(rtc, optionalOrg(req.query.org_id), String(req.params.huddle_id ?? ""));
    if (huddle === null) throw new HttpError("not_found", "no such huddle");
    const { id, org_id, conversation_id, created_by, created_at, max, screen } = huddle;
    res.json({ id, org_id, conversation_id, created_by, created_at, max, screen, participants: participantsOf(huddle) });
  });

  router.post("/api/v1/huddles/:huddle_id/invite", ...guards, jsonBody, async (req, res) => {
    const body = objectBody(req.body);
    const orgId = requiredId(body.org_id, "org_id");
    const users = body.user_ids;
    if (!Array.isArray(users) || users.length === 0 || users.length > 50)
      throw new HttpError("bad_request", "user_ids must list 1 to 50 user ids");
    const by = body.by === undefined ? null : requiredId(body.by, "by");
    const huddleId = String(req.params.huddle_id ?? "");
    await httpErrors(() =>
      invite(
        rtc,
        orgId,
        huddleId,
        by,
        users.map((u, i) => requiredId(u, `user_ids[${i}]`)),
      ),
    );
    res.status(202).json({ huddle_id: huddleId });
  });

  return router;
}

/** A call as the HTTP route answers it. */
function callView(call: Call) {
  const { id, org_id, caller, callee, media, status, created_at, answered_at, ended_at, ended_by, ring_deadline } = call;
  return {
    id,
    org_id,
    caller,
    callee,
    media,
    status,
    created_at,
    ring_deadline,
    answered_at,
    ended_at,
    ended_by,
    participants: [caller, callee],
  };
}

/** Runs a huddle step, turning the machine's refusals into HTTP errors. */
async function httpErrors<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    const code = (ERROR_CODES[error.code].surfaces as readonly string[]).includes("http") ? (error.code as HttpErrorCode) : "bad_request";
    throw new HttpError(code, error.message);
  }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new HttpError("bad_request", "the body must be a JSON object");
  return body as Record<string, unknown>;
}

/** An id from a body: a string of id characters or a non-negative integer (Rails). */
function requiredId(value: unknown, name: string): string {
  const id = typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof id !== "string" || !ID_SEGMENT.test(id)) throw new HttpError("bad_request", `${name} must be an id`);
  return id;
}

function optionalOrg(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !ID_SEGMENT.test(value)) throw new HttpError("bad_request", "org_id must be an id");
  return value;
}
