import express, { type RequestHandler } from "express";

/** Largest body the HTTP routes take. */
export const BODY_LIMIT = "1mb";

/**
 * Reads the body as text; mounted after a route's authentication, so unauthenticated callers never
 * get their bodies read. A body over the limit is a 413 (through the app's error handler).
 */
export const textBody: RequestHandler = express.text({ limit: BODY_LIMIT, type: () => true });

/**
 * The body as JSON, or as the text received when it is not JSON (an empty body included): the
 * publish pipeline answers that with `invalid_json` and records it in the dead-letter queue, like
 * any other input it cannot parse.
 */
export function bodyOf(body: unknown): { json: unknown } | { text: string } {
  const text = typeof body === "string" ? body : "";
  try {
    return { json: JSON.parse(text) };
  } catch {
    return { text };
  }
}

/** The body as JSON for routes that are not publish paths; a `bad_request` otherwise. */
export const jsonBody: RequestHandler = express.json({ limit: BODY_LIMIT, type: () => true });
