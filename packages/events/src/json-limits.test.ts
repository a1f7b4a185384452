import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkJsonLimits, MAX_EVENT_BYTES, MAX_EVENT_DEPTH } from "./json-limits.js";

/** `{ a: { a: ... { a: 1 } } }` with `levels` objects, built with a loop (no recursion anywhere). */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

describe("checkJsonLimits", () => {
  it("documents 64 levels and 1 MiB", () => {
    expect(MAX_EVENT_DEPTH).toBe(64);
    expect(MAX_EVENT_BYTES).toBe(1_048_576);
  });

  it("accepts 64 levels of nesting and refuses 65, objects and arrays alike", () => {
    expect(checkJsonLimits(nested(64))).toBeUndefined();
    expect(checkJsonLimits(nested(65))).toBe("depth");
    let list: unknown = [];
    for (let i = 1; i < 65; i++) list = [list];
    expect(checkJsonLimits(list)).toBe("depth");
  });

  it("walks 300,000 levels without overflowing the stack", () => {
    expect(checkJsonLimits(nested(300_000))).toBe("depth");
    const text = `${'{"a":'.repeat(300_000)}1${"}".repeat(300_000)}`;
    expect(checkJsonLimits(JSON.parse(text))).toBe("depth");
  });

  it("measures any JSON value's size as JSON.stringify writes it (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ unit: "binary" }), (value, text) => {
        for (const sample of [value, { [text]: text, value }]) {
          const bytes = Buffer.byteLength(JSON.stringify(sample));
          expect(checkJsonLimits(sample, { maxBytes: bytes })).toBeUndefined();
          expect(checkJsonLimits(sample, { maxBytes: bytes - 1 })).toBe("size");
        }
      }),
    );
  });

  it("takes a cycle for infinitely deep", () => {
    const cyclic: Record<string, unknown> = { type: "a.b" };
    cyclic.self = cyclic;
    expect(checkJsonLimits(cyclic)).toBe("depth");
  });

  it("measures the size JSON.stringify writes, to the byte", () => {
    const samples: unknown[] = [
      {},
      [],
      { type: "roster.player_hired", org_id: 42, payload: { player_id: 7, name: "Zoë", tags: ["a", "ß", "😀"], ok: true, no: false } },
      { skipped: undefined, fn: () => 1, kept: null, list: [undefined, 1.5, -3, 1e21] },
      "plain text",
      { 'quo"te': 'a"b\\c', ctl: "\u0001\u001f\n\t\b\f\r", lone: "\ud800x\udc00", pair: "\ud83d\ude00", del: "\u007f" },
      "\u0001".repeat(1_000),
    ];
    for (const sample of samples) {
      const bytes = Buffer.byteLength(JSON.stringify(sample));
      expect(checkJsonLimits(sample, { maxBytes: bytes }), JSON.stringify(sample)).toBeUndefined();
      expect(checkJsonLimits(sample, { maxBytes: bytes - 1 }), JSON.stringify(sample)).toBe("size");
    }
  });

  it("never counts more than JSON.stringify writes (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const bytes = Buffer.byteLength(JSON.stringify(value));
        expect(checkJsonLimits(value, { maxBytes: bytes })).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it("refuses a huge array before walking it", () => {
    expect(checkJsonLimits(new Array(2_000_000).fill(0))).toBe("size");
    expect(checkJsonLimits({ blob: "x".repeat(MAX_EVENT_BYTES) })).toBe("size");
  });
});
