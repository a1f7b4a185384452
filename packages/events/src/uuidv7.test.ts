import { describe, expect, it } from "vitest";
import { uuidv7 } from "./uuidv7.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp at the start of a version 7 UUID. */
function timestampOf(id: string): number {
  return Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

describe("uuidv7", () => {
  it("is a lowercase 8-4-4-4-12 hex UUID", () => {
    for (let i = 0; i < 50; i++) expect(uuidv7()).toMatch(UUID);
  });

  it("has version nibble 7 and the RFC 9562 variant (10xx)", () => {
    for (let i = 0; i < 200; i++) {
      const id = uuidv7();
      expect(id[14]).toBe("7");
      expect(["8", "9", "a", "b"]).toContain(id[19]);
    }
  });

  it("encodes the given time in milliseconds in the first 48 bits", () => {
    const now = 1_717_171_717_171;
    const id = uuidv7(now);
    expect(id.slice(0, 13)).toBe(`${now.toString(16).padStart(12, "0").slice(0, 8)}-${now.toString(16).padStart(12, "0").slice(8)}`);
    expect(timestampOf(id)).toBe(now);
  });

  it("encodes 0 and the largest 48-bit time", () => {
    expect(uuidv7(0).slice(0, 13)).toBe("00000000-0000");
    expect(timestampOf(uuidv7(2 ** 48 - 1))).toBe(2 ** 48 - 1);
  });

  it("uses the current time by default", () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(timestampOf(id)).toBeGreaterThanOrEqual(before);
    expect(timestampOf(id)).toBeLessThanOrEqual(after);
  });

  it("is unique", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(1_700_000_000_000)));
    expect(ids.size).toBe(1000);
  });

  it("sorts by time as a plain string", () => {
    const times = [0, 1, 255, 256, 65_535, 65_536, 1_600_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 2 ** 40, 2 ** 48 - 1].sort(
      (a, b) => a - b,
    );
    const ids = times.map((t) => uuidv7(t));
    const shuffled = [...ids].reverse();
    expect(shuffled.sort()).toEqual(ids);
  });

  it("sorts ids one millisecond apart, regardless of the random bits", () => {
    for (let i = 0; i < 100; i++) {
      const t = 1_700_000_000_000 + i * 997;
      expect(uuidv7(t) < uuidv7(t + 1)).toBe(true);
    }
  });
});
