import express, { type RequestHandler } from "express";

/** Largest JSON body the HTTP routes take. */
export const BODY_LIMIT = "1mb";

/**
 * Parses a JSON body; mounted after a route's authentication, so unauthenticated callers never get
 * their bodies parsed. Errors (413, bad JSON) reach the app's error handler.
 */
export const jsonBody: RequestHandler = express.json({ limit: BODY_LIMIT, type: () => true });
