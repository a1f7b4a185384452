import { describe, expect, it } from "vitest";
import { RecentIds } from "./recent-ids.js";

describe("RecentIds", () => {
  it("says whether a key is new", () => {
    const recent = new RecentIds(3);
    expect(recent.add("a")).toBe(true);
    expect(recent.add("a")).toBe(false);
    expect(recent.add("b")).toBe(true);
  });

  it("forgets the least recently seen key past its capacity", () => {
    const recent = new RecentIds(3);
    for (const key of ["a", "b", "c"]) recent.add(key);
    expect(recent.add("a")).toBe(false); // a is now the youngest
    recent.add("d"); // evicts b
    expect(recent.size).toBe(3);
    expect(recent.has("b")).toBe(false);
    expect(recent.has("a")).toBe(true);
    expect(recent.add("b")).toBe(true);
  });

  it("stays bounded over many keys", () => {
    const recent = new RecentIds(10_000);
    for (let i = 0; i < 25_000; i++) recent.add(`id-${i}`);
    expect(recent.size).toBe(10_000);
    expect(recent.has("id-14999")).toBe(false);
    expect(recent.has("id-15000")).toBe(true);
  });

  it("refuses a capacity below 1", () => {
    expect(() => new RecentIds(0)).toThrow(RangeError);
  });
});
