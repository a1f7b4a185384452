import { describe, expect, it } from "vitest";
import { DEDUPE_WINDOW_MS } from "./event-sink.js";
import { RecentIds } from "./recent-ids.js";

describe("RecentIds (the memory engine's dedupe)", () => {
  it("refuses an id seen within the window and accepts it again after", () => {
    const ids = new RecentIds(1_000);
    expect(ids.claim("a", 0)).toBe(true);
    expect(ids.claim("a", 999)).toBe(false);
    expect(ids.claim("a", 1_000)).toBe(true);
  });

  it("forgets the oldest ids first when full, never the recent ones", () => {
    const ids = new RecentIds(60_000, 3);
    for (const [i, id] of ["a", "b", "c", "d"].entries()) expect(ids.claim(id, i)).toBe(true);
    expect(ids.claim("d", 10)).toBe(false);
    expect(ids.claim("c", 10)).toBe(false);
    // "a" was evicted to make room for "d".
    expect(ids.claim("a", 10)).toBe(true);
  });

  it("drops expired ids as it goes", () => {
    const ids = new RecentIds(100, 10);
    expect(ids.claim("old", 0)).toBe(true);
    expect(ids.claim("new", 500)).toBe(true);
    expect(ids.claim("old", 501)).toBe(true);
  });

  it("with the memory engine's window, refuses a repeat for 5 minutes and accepts it after, on its clock", () => {
    expect(DEDUPE_WINDOW_MS).toBe(300_000);
    let now = 1_700_000_000_000;
    // As the memory engine builds it, plus a fake clock.
    const ids = new RecentIds(DEDUPE_WINDOW_MS, undefined, () => now);
    expect(ids.claim("42:evt-1")).toBe(true);
    now += 299_999;
    expect(ids.claim("42:evt-1")).toBe(false);
    now += 1;
    expect(ids.claim("42:evt-1")).toBe(true);
    // The window starts again from that delivery.
    now += 299_999;
    expect(ids.claim("42:evt-1")).toBe(false);
  });
});
