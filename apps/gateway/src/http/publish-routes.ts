import { errorCodesOn, ProducerEnvelopeSchema, PublishError } from "@hub/events";
import type { IngestSource, Publisher, PublishResult } from "@hub/store";
import { Type } from "@sinclair/typebox";
import { type RequestHandler, Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import type { IngestStats } from "../ingest/ingest-stats.js";
import { engineAvailable } from "./engine-available.js";
import { HttpError } from "./http-error.js";
import { bodyOf, textBody } from "./json-body.js";
import type { RouteSpec } from "./route-spec.js";
import { serviceOnly } from "./service-auth.js";

/** Most events one `POST /api/v1/events` may carry. */
export const MAX_BATCH = 500;

/** What the publish pipeline may refuse an event with, and the routes in front of it. */
export const PUBLISH_ERRORS = [...errorCodesOn("publish"), "bad_request", "unavailable", "internal"] as const;

/** `POST /api/v1/events`, as registered and as `/openapi.json` describes it. */
export const PUBLISH_ROUTE = {
  method: "post",
  path: "/api/v1/events",
  operationId: "publishEvents",
  tag: "publishing",
  summary: "Publish one event or a batch",
  description:
    "A body with a `type` is one event. Each event's `payload` is checked against the schema of its type and version; " +
    "input that is refused is recorded in the dead-letter queue. The same `id` within 5 minutes is delivered once.",
  security: "service",
  body: Type.Union([
    ProducerEnvelopeSchema,
    Type.Object({ events: Type.Array(ProducerEnvelopeSchema, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: true }),
  ]),
  bodyCheckedBy: "the publish pipeline (@hub/events ProducerEnvelopeSchema, then the type's schema)",
  responses: { 202: { description: "Accepted: the events' ids, in order", schema: Type.Object({ ids: Type.Array(Type.String()) }) } },
  errors: [...PUBLISH_ERRORS, "unauthorized", "forbidden", "rate_limited"],
} as const satisfies RouteSpec;

export interface PublishRoutesOptions {
  /** Whether Redis answers: requests are refused `503 unavailable` while it does not. */
  health: EngineHealth;
  publisher: Publisher;
  verifier: TokenVerifier;
  stats: IngestStats;
  /** Requests per service (serviceRateLimit). */
  rateLimit: RequestHandler;
}

/** `POST /api/v1/events`: one event or `{ events: [...] }`, with a service token -> `202 { ids }`. */
export function publishRoutes({ health, publisher, verifier, stats, rateLimit }: PublishRoutesOptions): Router {
  const router = Router();

  router.post(PUBLISH_ROUTE.path, serviceOnly(verifier), rateLimit, engineAvailable(health), textBody, async (req, res) => {
    const body = bodyOf(req.body);
    // Text that is not JSON goes through the pipeline too: refused as invalid_json, dead-lettered.
    const json = "json" in body ? body.json : undefined;
    const batch = batchOf(json);
    if (batch !== undefined && (!Array.isArray(batch) || batch.length === 0 || batch.length > MAX_BATCH)) {
      throw new HttpError("bad_request", `events must be a list of 1 to ${MAX_BATCH} events`);
    }
    const results = await asHttp(
      "text" in body
        ? publisher.publish(body.text, { source: "http", raw: true }).then((r) => [r])
        : Array.isArray(batch)
          ? publisher.publishMany(batch, { source: "http" })
          : publisher.publish(json, { source: "http" }).then((r) => [r]),
      stats,
      "http",
    );
    res.status(202).json({ ids: results.map((r) => r.id) });
  });

  return router;
}

/**
 * The events of a batch body `{ events: [...] }`. A body with a `type` is one event, whatever other
 * fields it carries (an `events` field included): it is validated as such.
 */
function batchOf(json: unknown): unknown {
  if (typeof json !== "object" || json === null || Array.isArray(json) || "type" in json) return undefined;
  return (json as { events?: unknown }).events;
}

/** Counts the outcome and turns a `PublishError` into a 400 (413 when too large) with the contract's error body. */
export async function asHttp<T extends PublishResult | PublishResult[]>(
  pending: Promise<T>,
  stats: IngestStats,
  source: IngestSource,
): Promise<T> {
  try {
    const value = await pending;
    for (const result of Array.isArray(value) ? value : [value]) stats.record(source, { status: "fulfilled", value: result });
    return value;
  } catch (error) {
    stats.record(source, { status: "rejected", reason: error });
    if (error instanceof PublishError) throw new HttpError(error.code, error.message, error.issues);
    throw error;
  }
}
