import { type DeadLetterEntry, type DeadLetters, type PublishContext, type Publisher, replayDeadLetters } from "@hub/store";
import { Type } from "@sinclair/typebox";
import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import { HttpError } from "./http-error.js";
import { jsonBody } from "./json-body.js";
import type { RouteSpec } from "./route-spec.js";
import { serviceOnly } from "./service-auth.js";
import { validateRequest } from "./validate-request.js";

export interface DeadLetterRoutesOptions {
  deadLetters: DeadLetters;
  publisher: Publisher;
  verifier: TokenVerifier;
  /** How a legacy entry's channel maps to its org, for the replay's org check. */
  contextOf: (entry: DeadLetterEntry) => PublishContext;
}

const MAX_PAGE = 500;
/** Streams per page of `GET /api/v1/dlq`: `?limit=`, default and most. */
const STREAM_PAGE = { default: 100, max: 1_000 };
const ENTRY_ID = "^\\d{1,20}-\\d{1,20}$";
// `_overflow:{source}` has the shape of `{org_id}:{event_type}`.
const STREAM = /^(_unknown|[A-Za-z0-9_.-]{1,128}:[a-z][a-z0-9_.]{0,127})$/;

const StreamParams = Type.Object({
  stream: Type.String({
    pattern: STREAM.source,
    description: "`{org_id}:{event_type}` or `_unknown`",
    "x-error-message": "stream must be {org_id}:{event_type} or _unknown",
  }),
});
const EntryId = Type.String({ pattern: ENTRY_ID, description: "a Redis stream entry id", examples: ["1763891234567-0"] });
const CountMessage = `count must be 1 to ${MAX_PAGE}`;
const CountQuery = Type.String({ pattern: "^\\d{1,3}$", description: `1 to ${MAX_PAGE}, default 100`, "x-error-message": CountMessage });
const Ids = Type.Array(EntryId, { minItems: 1, maxItems: MAX_PAGE, "x-error-message": `ids must be a list of 1 to ${MAX_PAGE} entry ids` });
const ErrorOfEntry = Type.Object({ code: Type.String(), message: Type.String(), issues: Type.Optional(Type.Array(Type.String())) });
const Entry = Type.Object(
  {
    id: EntryId,
    stream: Type.String(),
    source: Type.Union(["emitter", "http", "webhook", "legacy"].map((s) => Type.Literal(s))),
    code: Type.String({ description: "the publish error code that rejected the input" }),
    message: Type.String(),
    issues: Type.Array(Type.String()),
    orgId: Type.Optional(Type.String()),
    type: Type.Optional(Type.String()),
    raw: Type.String({ description: "the input as received, cut at its size limit" }),
    truncated: Type.Boolean(),
    channel: Type.Optional(Type.String({ description: "the legacy Redis channel it came on" })),
    receivedAt: Type.Integer({ description: "epoch milliseconds" }),
  },
  { additionalProperties: true },
);
const SERVICE_ERRORS = ["bad_request", "unauthorized", "forbidden", "internal"] as const;

/** The dead-letter queue's routes, as registered and as `/openapi.json` describes them. */
export const DEAD_LETTER_ROUTES = {
  streams: {
    method: "get",
    path: "/api/v1/dlq",
    operationId: "listDeadLetterStreams",
    tag: "dead letters",
    summary: "List the dead-letter streams that hold entries",
    security: "service",
    query: Type.Object({
      limit: Type.Optional(
        Type.String({
          pattern: "^\\d{1,7}$",
          description: `streams per page, 1 to ${STREAM_PAGE.max} (default ${STREAM_PAGE.default})`,
          "x-error-message": `limit must be 1 to ${STREAM_PAGE.max}`,
        }),
      ),
      cursor: Type.Optional(
        Type.String({
          pattern: "^[A-Za-z0-9_-]{1,400}$",
          description: "the `next_cursor` of the previous page",
          "x-error-message": "cursor must be a next_cursor this API returned",
        }),
      ),
    }),
    responses: {
      200: {
        description: "One page of streams, by name",
        schema: Type.Object({
          streams: Type.Array(Type.Object({ stream: Type.String(), length: Type.Integer({ minimum: 0 }) })),
          next_cursor: Type.Union([Type.String(), Type.Null()], { description: "opaque; null on the last page" }),
        }),
      },
    },
    errors: SERVICE_ERRORS,
  },
  entries: {
    method: "get",
    path: "/api/v1/dlq/:stream/entries",
    operationId: "listDeadLetters",
    tag: "dead letters",
    summary: "Read a dead-letter stream's entries, oldest first",
    security: "service",
    params: StreamParams,
    query: Type.Object({
      after: Type.Optional(
        Type.String({
          pattern: ENTRY_ID,
          description: "the last id of the previous page",
          "x-error-message": "after must be an entry id like 1763891234567-0",
        }),
      ),
      count: Type.Optional(CountQuery),
    }),
    responses: { 200: { description: "The entries", schema: Type.Object({ entries: Type.Array(Entry) }) } },
    errors: SERVICE_ERRORS,
  },
  replay: {
    method: "post",
    path: "/api/v1/dlq/:stream/replay",
    operationId: "replayDeadLetters",
    tag: "dead letters",
    summary: "Publish a stream's entries again (the given ids, or the oldest `count`)",
    description: "Replayed entries leave the queue; entries that fail again stay, listed in `failed`.",
    security: "service",
    params: StreamParams,
    body: Type.Object({
      ids: Type.Optional(Ids),
      count: Type.Optional(
        Type.Union([Type.Integer({ minimum: 1, maximum: MAX_PAGE }), CountQuery], {
          description: `1 to ${MAX_PAGE}, default 100`,
          "x-error-message": CountMessage,
        }),
      ),
    }),
    responses: {
      200: {
        description: "What was replayed and what failed again",
        schema: Type.Object({ replayed: Type.Array(EntryId), failed: Type.Array(Type.Object({ id: EntryId, error: ErrorOfEntry })) }),
      },
    },
    errors: [...SERVICE_ERRORS, "payload_too_large"],
  },
  remove: {
    method: "delete",
    path: "/api/v1/dlq/:stream/entries",
    operationId: "deleteDeadLetters",
    tag: "dead letters",
    summary: "Delete entries from a dead-letter stream",
    security: "service",
    params: StreamParams,
    body: Type.Object({ ids: Ids }),
    responses: { 200: { description: "How many entries were removed", schema: Type.Object({ removed: Type.Integer({ minimum: 0 }) }) } },
    errors: [...SERVICE_ERRORS, "payload_too_large"],
  },
} as const satisfies Record<string, RouteSpec>;

/**
 * The dead-letter queue's internal API (service token):
 * - `GET /api/v1/dlq?limit=&cursor=` -> `{ streams: [{ stream, length }], next_cursor }`
 * - `GET /api/v1/dlq/:stream/entries?after=&count=` -> `{ entries }`
 * - `POST /api/v1/dlq/:stream/replay` `{ ids?, count? }` -> `{ replayed, failed }`
 * - `DELETE /api/v1/dlq/:stream/entries` `{ ids }` -> `{ removed }`
 */
export function deadLetterRoutes({ deadLetters, publisher, verifier, contextOf }: DeadLetterRoutesOptions): Router {
  const router = Router();
  const { streams, entries, replay, remove } = DEAD_LETTER_ROUTES;
  router.use("/api/v1/dlq", serviceOnly(verifier));

  router.get(streams.path, validateRequest(streams), async (req, res) => {
    const query = req.query as { limit?: string; cursor?: string };
    const limit = limitParam(query.limit);
    const after = query.cursor === undefined ? undefined : cursorParam(query.cursor);
    const page = await deadLetters.streamPage({ limit, ...(after === undefined ? {} : { after }) });
    // The cursor is the last stream name examined, opaque to callers.
    res.json({ streams: page.streams, next_cursor: page.next === undefined ? null : Buffer.from(page.next).toString("base64url") });
  });

  router.get(entries.path, validateRequest(entries), async (req, res) => {
    const query = req.query as { after?: string; count?: string };
    const entries = await deadLetters.entries(String(req.params.stream), {
      count: countParam(query.count, 100),
      ...(query.after ? { after: query.after } : {}),
    });
    res.json({ entries });
  });

  router.post(replay.path, jsonBody, validateRequest(replay), async (req, res) => {
    const body = req.body as { ids?: string[]; count?: number | string };
    const result = await replayDeadLetters(publisher, deadLetters, String(req.params.stream), {
      ...(body.ids ? { ids: body.ids } : {}),
      count: countParam(body.count, 100),
      contextOf,
    });
    res.json(result);
  });

  router.delete(remove.path, jsonBody, validateRequest(remove), async (req, res) => {
    res.json({ removed: await deadLetters.remove(String(req.params.stream), (req.body as { ids: string[] }).ids) });
  });

  return router;
}

function limitParam(value: string | undefined): number {
  if (value === undefined) return STREAM_PAGE.default;
  const limit = Number(value);
  if (!(limit >= 1 && limit <= STREAM_PAGE.max)) throw new HttpError("bad_request", `limit must be 1 to ${STREAM_PAGE.max}`);
  return limit;
}

/** The stream name a `next_cursor` carries (the schema checked its alphabet). */
function cursorParam(value: string): string {
  const name = Buffer.from(value, "base64url").toString();
  if (!STREAM.test(name)) throw new HttpError("bad_request", "cursor must be a next_cursor this API returned");
  return name;
}

/** The schema checked the digits; the range is checked here. */
function countParam(value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const count = Number(value);
  if (count < 1 || count > MAX_PAGE) throw new HttpError("bad_request", CountMessage);
  return count;
}
