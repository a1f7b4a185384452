import { describe, expect, it } from "vitest";
import { earliestFirst, latestMeta } from "./presence.js";

describe("latestMeta", () => {
  it("is the most recently set metadata, parsed; undefined without any", () => {
    expect(latestMeta([])).toBeUndefined();
    expect(
      latestMeta([
        { at: 5, meta: '{"device":"phone"}' },
        { at: 9, meta: '{"device":"laptop"}' },
        { at: 7, meta: '{"device":"tablet"}' },
      ]),
    ).toEqual({ device: "laptop" });
  });
});

describe("earliestFirst", () => {
  it("orders by since then id, and says when the limit cut the list", () => {
    const sinceOf = new Map([
      ["b", 10],
      ["a", 10],
      ["c", 3],
    ]);
    expect(earliestFirst(sinceOf, 10)).toEqual({
      users: [
        { id: "c", since: 3 },
        { id: "a", since: 10 },
        { id: "b", since: 10 },
      ],
      truncated: false,
    });
    expect(earliestFirst(sinceOf, 2)).toEqual({
      users: [
        { id: "c", since: 3 },
        { id: "a", since: 10 },
      ],
      truncated: true,
    });
  });
});
