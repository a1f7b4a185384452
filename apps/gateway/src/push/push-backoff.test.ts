import { describe, expect, it } from "vitest";
import { PUSH_RETRY_CAP_MS, retryDelay } from "./push-backoff.js";

describe("retryDelay", () => {
  it("doubles from the base per failure, between half and all of it", () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 1_000, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 1_000, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect(retryDelay(2, 1_000, () => 0.5)).toBe(1_500);
  });

  it("never waits longer than 5 minutes, however many failures", () => {
    expect(PUSH_RETRY_CAP_MS).toBe(300_000);
    expect(retryDelay(9, 1_000, () => 1)).toBe(256_000);
    expect(retryDelay(10, 1_000, () => 1)).toBe(PUSH_RETRY_CAP_MS);
    expect(retryDelay(10_000, 1_000, () => 1)).toBe(PUSH_RETRY_CAP_MS);
    expect(retryDelay(10_000, 1_000, () => 0)).toBe(PUSH_RETRY_CAP_MS / 2);
  });

  it("spreads pushes that failed together", () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelay(3, 1_000)));
    expect(delays.size).toBeGreaterThan(10);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(2_000);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(4_000);
  });
});
