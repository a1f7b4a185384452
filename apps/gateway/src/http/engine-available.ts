import type { RequestHandler } from "express";
import type { Engine } from "../engine/engine.js";
import { HttpError } from "./http-error.js";

/**
 * Answers 503 `unavailable` while Redis is unreachable, instead of holding the request until it
 * returns: a producer that times out and retries would otherwise find both copies delivered later.
 */
export function engineAvailable(engine: Engine): RequestHandler {
  return (_req, res, next) => {
    if (engine.redisState() !== "disconnected") return next();
    res.setHeader("retry-after", "1");
    next(new HttpError("unavailable", "Redis is unreachable; retry shortly"));
  };
}
