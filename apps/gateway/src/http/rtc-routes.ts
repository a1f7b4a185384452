import type { Call } from "@hub/entities";
import { ERROR_CODES, ID_SEGMENT, IdLike, ProtocolError } from "@hub/events";
import { type TSchema, Type } from "@sinclair/typebox";
import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import { invite, openHuddle, participantsOf, readHuddle } from "../rtc/huddle-requests.js";
import type { RtcContext } from "../rtc/rtc-context.js";
import { engineAvailable } from "./engine-available.js";
import { HttpError, type HttpErrorCode } from "./http-error.js";
import { jsonBody } from "./json-body.js";
import type { RouteSpec } from "./route-spec.js";
import { serviceOnly } from "./service-auth.js";
import { validateRequest } from "./validate-request.js";

export interface RtcRoutesOptions {
  health: EngineHealth;
  verifier: TokenVerifier;
  rtc: RtcContext;
}

/** An id in a body: a string of id characters or a non-negative integer (Rails), named in its error. */
const BodyId = (name: string, description: string): TSchema => ({ ...IdLike, description, "x-error-message": `${name} must be an id` });
const OrgQuery = Type.Object({
  org_id: Type.Optional(
    Type.String({
      pattern: ID_SEGMENT.source,
      description: "when given, the answer is not_found unless it is of this org",
      "x-error-message": "org_id must be an id",
    }),
  ),
});
const Member = Type.Object(
  {
    user_id: Type.String(),
    joined_at: Type.Integer({ description: "epoch milliseconds" }),
    audio: Type.Boolean(),
    video: Type.Boolean(),
    screen: Type.Boolean(),
    hand: Type.Boolean(),
    away: Type.Boolean({ description: "the participant's last connection closed; they leave after HUDDLE_GRACE_MS unless they come back" }),
  },
  { additionalProperties: true },
);
const Ms = Type.Integer({ description: "epoch milliseconds" });
const MsOrNull = Type.Union([Ms, Type.Null()]);
const HuddleParams = Type.Object({ huddle_id: Type.String({ minLength: 1 }) });
const ERRORS = ["bad_request", "unauthorized", "forbidden", "not_found", "unavailable", "internal"] as const;

/** The routes of calls and huddles, as registered and as `/openapi.json` describes them. */
export const RTC_ROUTES = {
  call: {
    method: "get",
    path: "/api/v1/calls/:call_id",
    operationId: "getCall",
    tag: "calls and huddles",
    summary: "A call's state and parties",
    security: "service",
    params: Type.Object({ call_id: Type.String({ minLength: 1 }) }),
    query: OrgQuery,
    responses: {
      200: {
        description: "The call",
        schema: Type.Object({
          id: Type.String(),
          org_id: Type.String(),
          caller: Type.String(),
          callee: Type.String(),
          media: Type.Union([Type.Literal("audio"), Type.Literal("video")]),
          status: Type.Union(["ringing", "active", "completed", "rejected", "missed", "busy"].map((s) => Type.Literal(s))),
          created_at: Ms,
          ring_deadline: MsOrNull,
          answered_at: MsOrNull,
          ended_at: MsOrNull,
          ended_by: Type.Union([Type.String(), Type.Null()]),
          participants: Type.Array(Type.String(), { description: "caller and callee" }),
        }),
      },
    },
    errors: ERRORS,
  },
  openHuddle: {
    method: "post",
    path: "/api/v1/huddles",
    operationId: "openHuddle",
    tag: "calls and huddles",
    summary: "The conversation's huddle, created if it has none",
    security: "service",
    body: Type.Object(
      {
        org_id: BodyId("org_id", "the huddle's org"),
        conversation_id: BodyId("conversation_id", "one huddle per conversation"),
        created_by: Type.Optional(BodyId("created_by", "the user it is created for")),
        max: Type.Optional(
          Type.Integer({
            minimum: 2,
            description: "most participants (capped by HUDDLE_MAX_PARTICIPANTS)",
            "x-error-message": "max must be an integer of at least 2",
          }),
        ),
      },
      { "x-error-message": "the body must be a JSON object" },
    ),
    responses: {
      200: {
        description: "The conversation already had this huddle",
        schema: Type.Object({ huddle_id: Type.String(), created: Type.Literal(false) }),
      },
      201: { description: "Created", schema: Type.Object({ huddle_id: Type.String(), created: Type.Literal(true) }) },
    },
    errors: [...ERRORS, "payload_too_large"],
  },
  huddle: {
    method: "get",
    path: "/api/v1/huddles/:huddle_id",
    operationId: "getHuddle",
    tag: "calls and huddles",
    summary: "A huddle and its participants",
    security: "service",
    params: HuddleParams,
    query: OrgQuery,
    responses: {
      200: {
        description: "The huddle",
        schema: Type.Object({
          id: Type.String(),
          org_id: Type.String(),
          conversation_id: Type.String(),
          created_by: Type.Union([Type.String(), Type.Null()]),
          created_at: Ms,
          max: Type.Integer(),
          screen: Type.Union([Type.String(), Type.Null()], { description: "who shares their screen" }),
          participants: Type.Array(Member),
        }),
      },
    },
    errors: ERRORS,
  },
  invite: {
    method: "post",
    path: "/api/v1/huddles/:huddle_id/invite",
    operationId: "inviteToHuddle",
    tag: "calls and huddles",
    summary: "Invite users to a huddle: each gets `huddle:invited` on `notifications:{user_id}`",
    security: "service",
    params: HuddleParams,
    body: Type.Object(
      {
        org_id: BodyId("org_id", "the huddle's org"),
        user_ids: Type.Array(IdLike, { minItems: 1, maxItems: 50, "x-error-message": "user_ids must list 1 to 50 user ids" }),
        by: Type.Optional(BodyId("by", "who invites")),
      },
      { "x-error-message": "the body must be a JSON object" },
    ),
    responses: { 202: { description: "Invited", schema: Type.Object({ huddle_id: Type.String() }) } },
    errors: [...ERRORS, "payload_too_large"],
  },
} as const satisfies Record<string, RouteSpec>;

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

  const { call, openHuddle: open, huddle, invite: inviteSpec } = RTC_ROUTES;

  router.get(call.path, ...guards, validateRequest(call), async (req, res) => {
    const callId = String(req.params.call_id);
    const orgId = req.query.org_id as string | undefined;
    const found = ID_SEGMENT.test(callId) ? await rtc.runtime.read(rtc.calls, callId) : null;
    if (found === null || (orgId !== undefined && found.org_id !== orgId)) throw new HttpError("not_found", "no such call");
    res.json(callView(found));
  });

  router.post(open.path, ...guards, jsonBody, validateRequest(open), async (req, res) => {
    const body = req.body as { org_id: Id; conversation_id: Id; created_by?: Id; max?: number };
    const by = body.created_by === undefined ? null : String(body.created_by);
    const opened = await httpErrors(() => openHuddle(rtc, String(body.org_id), String(body.conversation_id), by, body.max));
    res.status(opened.created ? 201 : 200).json({ huddle_id: opened.huddle_id, created: opened.created });
  });

  router.get(huddle.path, ...guards, validateRequest(huddle), async (req, res) => {
    const found = await readHuddle(rtc, req.query.org_id as string | undefined, String(req.params.huddle_id));
    if (found === null) throw new HttpError("not_found", "no such huddle");
    const { id, org_id, conversation_id, created_by, created_at, max, screen } = found;
    res.json({ id, org_id, conversation_id, created_by, created_at, max, screen, participants: participantsOf(found) });
  });

  router.post(inviteSpec.path, ...guards, jsonBody, validateRequest(inviteSpec), async (req, res) => {
    const body = req.body as { org_id: Id; user_ids: Id[]; by?: Id };
    const huddleId = String(req.params.huddle_id);
    const by = body.by === undefined ? null : String(body.by);
    await httpErrors(() => invite(rtc, String(body.org_id), huddleId, by, body.user_ids.map(String)));
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

/** An id as the schemas accept it (`IdLike`): its string is the id. */
type Id = string | number;
