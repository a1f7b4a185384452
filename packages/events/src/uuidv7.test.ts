import { afterEach, describe, expect, it, vi } from "vitest";
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

  describe("monotonic (RFC 9562 method 1 counter)", () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it("generates 10,000 ids in a tight loop that sort in generation order, as strings", () => {
      const ids: string[] = [];
      for (let i = 0; i < 10_000; i++) ids.push(uuidv7());
      expect([...ids].sort()).toEqual(ids);
      for (let i = 1; i < ids.length; i++) expect((ids[i - 1] as string) < (ids[i] as string)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(UUID);
    });

    it("stays increasing within one millisecond and when the clock goes back", () => {
      let now = 1_800_000_000_000;
      vi.spyOn(Date, "now").mockImplementation(() => now);
      const ids: string[] = [];
      for (let i = 0; i < 1_000; i++) ids.push(uuidv7());
      now -= 5_000;
      for (let i = 0; i < 1_000; i++) ids.push(uuidv7());
      now += 10_000;
      ids.push(uuidv7());
      expect([...ids].sort()).toEqual(ids);
      expect(timestampOf(ids[0] as string)).toBe(1_800_000_000_000);
      // While the clock was behind, the last millisecond was kept.
      expect(timestampOf(ids[1_999] as string)).toBe(1_800_000_000_000);
      expect(timestampOf(ids[2_000] as string)).toBe(1_800_000_005_000);
    });

    it("orders ids given the same time", () => {
      const ids = Array.from({ length: 1_000 }, () => uuidv7(1_700_000_000_000));
      expect([...ids].sort()).toEqual(ids);
      expect(ids.every((id) => timestampOf(id) === 1_700_000_000_000)).toBe(true);
    });

    it("keeps random bits after the counter", () => {
      const tails = new Set(Array.from({ length: 100 }, () => uuidv7().slice(-8)));
      expect(tails.size).toBeGreaterThan(90);
    });
  });
});
