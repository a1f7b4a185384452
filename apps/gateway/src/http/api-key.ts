import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { HttpError } from "./http-error.js";

/** Requires `X-Api-Key` to equal `key`, compared in constant time. */
export function requireApiKey(key: string): RequestHandler {
  const expected = digest(key);
  return (req, _res, next) => {
    const given = req.get("x-api-key");
    if (given === undefined || given === "") return next(new HttpError("unauthorized", "X-Api-Key header is required"));
    if (!timingSafeEqual(digest(given), expected)) return next(new HttpError("unauthorized", "wrong API key"));
    next();
  };
}

// Hashing first gives equal lengths, which timingSafeEqual needs.
function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
