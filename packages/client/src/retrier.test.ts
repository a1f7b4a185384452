import { afterEach, describe, expect, it, vi } from "vitest";
import { HubError } from "./hub-error.js";
import { Retrier } from "./retrier.js";

afterEach(() => vi.useRealTimers());

describe("Retrier", () => {
  it("repeats the same attempt through transient failures until it succeeds", async () => {
    const retrier = new Retrier({ retryDelay: () => 1 });
    const attempt = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new HubError("timeout", "lost"))
      .mockRejectedValueOnce(new HubError("unavailable", "redis down"))
      .mockResolvedValueOnce("ok");
    await expect(retrier.run(attempt)).resolves.toBe("ok");
    expect(attempt).toHaveBeenCalledTimes(3);
  });

  it("fails at once on a permanent code, and with timeout past its deadline", async () => {
    const retrier = new Retrier({ timeoutMs: 50, retryDelay: () => 20 });
    await expect(retrier.run(() => Promise.reject(new HubError("forbidden", "no")))).rejects.toMatchObject({ code: "forbidden" });
    const started = Date.now();
    await expect(retrier.run(() => Promise.reject(new HubError("timeout", "lost")))).rejects.toMatchObject({ code: "timeout" });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("waits retry_after_ms after rate_limited", async () => {
    vi.useFakeTimers();
    const retrier = new Retrier({ retryDelay: () => 1 });
    const attempt = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new HubError("rate_limited", "slow down", { retryAfterMs: 700 }))
      .mockResolvedValueOnce("ok");
    const result = retrier.run(attempt);
    await vi.advanceTimersByTimeAsync(699);
    expect(attempt).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe("ok");
  });

  it("close() rejects a waiting run with closed and clears its timer", async () => {
    vi.useFakeTimers();
    const retrier = new Retrier({ retryDelay: () => 10_000 });
    const result = retrier.run(() => Promise.reject(new HubError("timeout", "lost")));
    await vi.advanceTimersByTimeAsync(0);
    retrier.close();
    await expect(result).rejects.toMatchObject({ code: "closed" });
    expect(vi.getTimerCount()).toBe(0);
  });
});
