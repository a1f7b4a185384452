import { type DeadLetterEntry, type DeadLetters, type PublishContext, type Publisher, replayDeadLetters } from "@hub/store";
import { Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import { HttpError } from "./http-error.js";
import { jsonBody } from "./json-body.js";
import { serviceOnly } from "./service-auth.js";

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
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
// `_overflow:{source}` has the shape of `{org_id}:{event_type}`.
const STREAM = /^(_unknown|[A-Za-z0-9_.-]{1,128}:[a-z][a-z0-9_.]{0,127})$/;

/**
 * The dead-letter queue's internal API (service token):
 * - `GET /api/v1/dlq?limit=&cursor=` -> `{ streams: [{ stream, length }], next_cursor }`
 * - `GET /api/v1/dlq/:stream/entries?after=&count=` -> `{ entries }`
 * - `POST /api/v1/dlq/:stream/replay` `{ ids?, count? }` -> `{ replayed, failed }`
 * - `DELETE /api/v1/dlq/:stream/entries` `{ ids }` -> `{ removed }`
 */
export function deadLetterRoutes({ deadLetters, publisher, verifier, contextOf }: DeadLetterRoutesOptions): Router {
  const router = Router();
  router.use("/api/v1/dlq", serviceOnly(verifier));

  router.get("/api/v1/dlq", async (req, res) => {
    const limit = limitParam(req.query.limit);
    const after = req.query.cursor === undefined ? undefined : cursorParam(req.query.cursor);
    const page = await deadLetters.streamPage({ limit, ...(after === undefined ? {} : { after }) });
    // The cursor is the last stream name examined, opaque to callers.
    res.json({ streams: page.streams, next_cursor: page.next === undefined ? null : Buffer.from(page.next).toString("base64url") });
  });

  router.get("/api/v1/dlq/:stream/entries", async (req, res) => {
    const stream = streamParam(req.params.stream);
    const after = req.query.after === undefined ? undefined : entryIdParam(req.query.after);
    const entries = await deadLetters.entries(stream, { count: countParam(req.query.count, 100), ...(after ? { after } : {}) });
    res.json({ entries });
  });

  router.post("/api/v1/dlq/:stream/replay", jsonBody, async (req, res) => {
    const stream = streamParam(req.params.stream);
    const body = (req.body ?? {}) as { ids?: unknown; count?: unknown };
    const ids = body.ids === undefined ? undefined : idsParam(body.ids);
    const result = await replayDeadLetters(publisher, deadLetters, stream, {
      ...(ids ? { ids } : {}),
      count: countParam(body.count, 100),
      contextOf,
    });
    res.json(result);
  });

  router.delete("/api/v1/dlq/:stream/entries", jsonBody, async (req, res) => {
    const stream = streamParam(req.params.stream);
    const ids = idsParam((req.body as { ids?: unknown } | undefined)?.ids);
    res.json({ removed: await deadLetters.remove(stream, ids) });
  });

  return router;
}

function streamParam(value: unknown): string {
  if (typeof value !== "string" || !STREAM.test(value)) {
    throw new HttpError("bad_request", "stream must be {org_id}:{event_type} or _unknown");
  }
  return value;
}

function limitParam(value: unknown): number {
  if (value === undefined) return STREAM_PAGE.default;
  const limit = typeof value === "string" && /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= STREAM_PAGE.max)) throw new HttpError("bad_request", `limit must be 1 to ${STREAM_PAGE.max}`);
  return limit;
}

function cursorParam(value: unknown): string {
  const name = typeof value === "string" && /^[A-Za-z0-9_-]{1,400}$/.test(value) ? Buffer.from(value, "base64url").toString() : "";
  if (!STREAM.test(name)) throw new HttpError("bad_request", "cursor must be a next_cursor this API returned");
  return name;
}

function entryIdParam(value: unknown): string {
  if (typeof value !== "string" || !ENTRY_ID.test(value))
    throw new HttpError("bad_request", "after must be an entry id like 1763891234567-0");
  return value;
}

function countParam(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > MAX_PAGE) throw new HttpError("bad_request", `count must be 1 to ${MAX_PAGE}`);
  return count;
}

function idsParam(value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > MAX_PAGE ||
    !value.every((id) => typeof id === "string" && ENTRY_ID.test(id))
  ) {
    throw new HttpError("bad_request", `ids must be a list of 1 to ${MAX_PAGE} entry ids`);
  }
  return value;
}
