import type { Publisher } from "@hub/emitter";
import { Router } from "express";
import type { IngestStats } from "../ingest/ingest-stats.js";
import { requireApiKey } from "./api-key.js";
import { HttpError } from "./http-error.js";
import { jsonBody } from "./json-body.js";
import { asHttp } from "./publish-routes.js";

export interface WebhookRoutesOptions {
  publisher: Publisher;
  /** `SCRAPER_API_KEY`; without it the route is not mounted and answers 404. */
  apiKey: string;
  stats: IngestStats;
}

/** `POST /events/notify`: the scraper's webhook, `X-Api-Key` auth, one event -> `202 { id }`. */
export function webhookRoutes({ publisher, apiKey, stats }: WebhookRoutesOptions): Router {
  const router = Router();
  router.post("/events/notify", requireApiKey(apiKey), jsonBody, async (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "bad_request", "body must be one event { type, org_id, payload, id? }");
    }
    const { id } = await asHttp(publisher.publish(body, { source: "webhook" }), stats, "webhook");
    res.status(202).json({ id });
  });
  return router;
}
