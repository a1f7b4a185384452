import { ProducerEnvelopeSchema } from "@hub/events";
import type { Publisher } from "@hub/store";
import { Type } from "@sinclair/typebox";
import { Router } from "express";
import type { EngineHealth } from "../engine/engine.js";
import type { IngestStats } from "../ingest/ingest-stats.js";
import { requireApiKey } from "./api-key.js";
import { engineAvailable } from "./engine-available.js";
import { bodyOf, textBody } from "./json-body.js";
import { asHttp, PUBLISH_ERRORS } from "./publish-routes.js";
import type { RouteSpec } from "./route-spec.js";

/** `POST /events/notify`, as registered and as `/openapi.json` describes it. */
export const WEBHOOK_ROUTE = {
  method: "post",
  path: "/events/notify",
  operationId: "notifyEvent",
  tag: "publishing",
  summary: "The scraper's webhook: publish one event",
  description: "Mounted only when `SCRAPER_API_KEY` is set; otherwise it answers 404 `not_found`.",
  security: "scraperKey",
  body: ProducerEnvelopeSchema,
  bodyCheckedBy: "the publish pipeline (@hub/events ProducerEnvelopeSchema, then the type's schema)",
  responses: { 202: { description: "Accepted", schema: Type.Object({ id: Type.String() }) } },
  errors: [...PUBLISH_ERRORS, "unauthorized"],
} as const satisfies RouteSpec;

export interface WebhookRoutesOptions {
  /** Whether Redis answers: requests are refused `503 unavailable` while it does not. */
  health: EngineHealth;
  publisher: Publisher;
  /** `SCRAPER_API_KEY`; without it the route is not mounted and answers 404. */
  apiKey: string;
  stats: IngestStats;
}

/** `POST /events/notify`: the scraper's webhook, `X-Api-Key` auth, one event -> `202 { id }`. */
export function webhookRoutes({ health, publisher, apiKey, stats }: WebhookRoutesOptions): Router {
  const router = Router();
  router.post(WEBHOOK_ROUTE.path, requireApiKey(apiKey), engineAvailable(health), textBody, async (req, res) => {
    const body = bodyOf(req.body);
    const input =
      "json" in body ? publisher.publish(body.json, { source: "webhook" }) : publisher.publish(body.text, { source: "webhook", raw: true });
    const { id } = await asHttp(input, stats, "webhook");
    res.status(202).json({ id });
  });
  return router;
}
