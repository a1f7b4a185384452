import type { Publisher } from "@hub/emitter";
import { PublishError } from "@hub/events";
import { Router } from "express";
import type { Logger } from "pino";
import type { TokenVerifier } from "../auth/token-verifier.js";
import { HttpError } from "./http-error.js";
import { requireService } from "./service-auth.js";

/** Most events one `POST /api/v1/events` may carry. */
export const MAX_BATCH = 500;

export interface PublishRoutesOptions {
  publisher: Publisher;
  verifier: TokenVerifier;
  logger: Logger;
}

/** `POST /api/v1/events`: one event or `{ events: [...] }`, with a service token -> `202 { ids }`. */
export function publishRoutes({ publisher, verifier, logger }: PublishRoutesOptions): Router {
  const router = Router();

  router.post("/api/v1/events", async (req, res) => {
    const service = await requireService(req, verifier);
    const body: unknown = req.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "bad_request", "body must be one event or { events: [...] }");
    }
    const batch = "events" in body ? (body as { events: unknown }).events : undefined;
    if (batch !== undefined && (!Array.isArray(batch) || batch.length === 0 || batch.length > MAX_BATCH)) {
      throw new HttpError(400, "bad_request", `events must be a list of 1 to ${MAX_BATCH} events`);
    }
    try {
      const results = Array.isArray(batch) ? await publisher.publishMany(batch) : [await publisher.publish(body)];
      logger.debug({ service: service.service, count: results.length }, "published over HTTP");
      res.status(202).json({ ids: results.map((r) => r.id) });
    } catch (error) {
      if (error instanceof PublishError) throw new HttpError(400, error.code, error.message, error.issues);
      throw error;
    }
  });

  return router;
}
