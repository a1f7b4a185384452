import type { RequestHandler } from "express";
import { TokenBucket } from "../protocol/token-bucket.js";
import { HttpError } from "./http-error.js";

/** Past this many callers the buckets start over (an idle bucket is full anyway). */
const MAX_CALLERS = 10_000;

/**
 * Middleware after `serviceOnly` (or an API key check): at most `ratePerSecond` requests per caller
 * on this gateway (bursts up to the same number). Past it: `429 rate_limited` with `Retry-After`.
 * The caller is the service token's `sub` (`res.locals.service`), or `fallback` for routes without
 * a service token (the scraper webhook).
 */
export function serviceRateLimit(ratePerSecond: number, onRefused: () => void, fallback = "anonymous"): RequestHandler {
  const buckets = new Map<string, TokenBucket>();
  return (_req, res, next) => {
    const caller = (res.locals.service as { service?: string } | undefined)?.service ?? fallback;
    let bucket = buckets.get(caller);
    if (!bucket) {
      if (buckets.size >= MAX_CALLERS) buckets.clear();
      bucket = new TokenBucket(ratePerSecond);
      buckets.set(caller, bucket);
    }
    if (bucket.take()) return next();
    onRefused();
    res.setHeader("retry-after", "1");
    next(new HttpError("rate_limited", `more than ${ratePerSecond} publish requests per second from ${caller}; retry later`));
  };
}
