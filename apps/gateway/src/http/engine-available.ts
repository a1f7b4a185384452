import type { RequestHandler } from "express";
import type { EngineHealth } from "../engine/engine.js";
import { HttpError } from "./http-error.js";

/**
 * Answers 503 `unavailable` while Redis is unreachable, instead of holding the request until it
 * returns: a producer that times out and retries would otherwise find both copies delivered later.
 */
export function engineAvailable(health: EngineHealth): RequestHandler {
  return (_req, res, next) => {
    if (health.available()) return next();
    res.setHeader("retry-after", "1");
    next(new HttpError("unavailable", "Redis is unreachable; retry shortly"));
  };
}
