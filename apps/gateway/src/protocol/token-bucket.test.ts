import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket.js";

const T0 = 1_700_000_000_000;

/** How many of `count` takes at the same instant succeed. */
function takeMany(bucket: TokenBucket, count: number, now: number): number {
  let allowed = 0;
  for (let i = 0; i < count; i++) if (bucket.take(now)) allowed++;
  return allowed;
}

describe("TokenBucket", () => {
  it("starts full: allows a burst of ratePerSecond, then refuses", () => {
    const bucket = new TokenBucket(5, T0);
    for (let i = 0; i < 5; i++) expect(bucket.take(T0)).toBe(true);
    expect(bucket.take(T0)).toBe(false);
    expect(bucket.take(T0)).toBe(false);
  });

  it("allows a burst of exactly the rate for other rates", () => {
    expect(takeMany(new TokenBucket(1, T0), 10, T0)).toBe(1);
    expect(takeMany(new TokenBucket(50, T0), 100, T0)).toBe(50);
  });

  it("refills at ratePerSecond", () => {
    const bucket = new TokenBucket(10, T0);
    expect(takeMany(bucket, 10, T0)).toBe(10);
    expect(bucket.take(T0)).toBe(false);
    // 10 per second: one token every 100 ms.
    expect(bucket.take(T0 + 99)).toBe(false);
    expect(bucket.take(T0 + 100)).toBe(true);
    expect(bucket.take(T0 + 100)).toBe(false);
    expect(takeMany(bucket, 10, T0 + 600)).toBe(5);
  });

  it("does not count refused takes against the client", () => {
    const bucket = new TokenBucket(10, T0);
    takeMany(bucket, 10, T0);
    // Hammering while empty does not push the next token further away.
    expect(takeMany(bucket, 1000, T0 + 50)).toBe(0);
    expect(bucket.take(T0 + 100)).toBe(true);
  });

  it("accumulates fractional refills across takes", () => {
    const bucket = new TokenBucket(10, T0);
    takeMany(bucket, 10, T0);
    expect(bucket.take(T0 + 40)).toBe(false); // 0.4 token
    expect(bucket.take(T0 + 80)).toBe(false); // 0.8 token
    expect(bucket.take(T0 + 100)).toBe(true); // 1.0 token
  });

  it("never holds more than ratePerSecond tokens, however long it idles", () => {
    const bucket = new TokenBucket(5, T0);
    expect(takeMany(bucket, 100, T0 + 60 * 60_000)).toBe(5);
  });

  it("caps a partially used bucket at ratePerSecond too", () => {
    const bucket = new TokenBucket(5, T0);
    takeMany(bucket, 2, T0);
    expect(takeMany(bucket, 100, T0 + 10_000)).toBe(5);
  });

  it("allows ratePerSecond on average over a long run", () => {
    const bucket = new TokenBucket(20, T0);
    let allowed = 0;
    // Ten requests every 10 ms (1000 per second) for 10 seconds.
    for (let t = T0; t < T0 + 10_000; t += 10) allowed += takeMany(bucket, 10, t);
    // The initial burst of 20 plus 20 per second for ~10 seconds.
    expect(allowed).toBeGreaterThanOrEqual(20 + 20 * 10 - 1);
    expect(allowed).toBeLessThanOrEqual(20 + 20 * 10);
  });

  it("keeps buckets independent", () => {
    const a = new TokenBucket(2, T0);
    const b = new TokenBucket(2, T0);
    expect(takeMany(a, 5, T0)).toBe(2);
    expect(takeMany(b, 5, T0)).toBe(2);
  });

  it("measures refill from the construction time", () => {
    const bucket = new TokenBucket(10, T0);
    // A take long after construction finds a full (capped) bucket, not more.
    expect(takeMany(bucket, 20, T0 + 5_000)).toBe(10);
    expect(bucket.take(T0 + 5_000)).toBe(false);
    expect(bucket.take(T0 + 5_100)).toBe(true);
  });
});
