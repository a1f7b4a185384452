import { describe, expect, it } from "vitest";
import { Positions, positionOf } from "./positions.js";

describe("Positions", () => {
  it("moves forward within an epoch and never back", () => {
    const positions = new Positions();
    expect(positions.advance("org:1", { offset: 3, epoch: "e1" })).toBe(true);
    expect(positions.advance("org:1", { offset: 2, epoch: "e1" })).toBe(false);
    expect(positions.advance("org:1", { offset: 3, epoch: "e1" })).toBe(false);
    expect(positions.advance("org:1", { offset: 7, epoch: "e1" })).toBe(true);
    expect(positions.get("org:1")).toEqual({ offset: 7, epoch: "e1" });
  });

  it("takes a new epoch whatever its offset: the history started over", () => {
    const positions = new Positions();
    positions.advance("org:1", { offset: 90, epoch: "e1" });
    expect(positions.advance("org:1", { offset: 0, epoch: "e2" })).toBe(true);
    expect(positions.get("org:1")).toEqual({ offset: 0, epoch: "e2" });
  });

  it("keeps topics apart and forgets a deleted one", () => {
    const positions = new Positions();
    positions.advance("org:1", { offset: 1, epoch: "a" });
    positions.advance("org:2", { offset: 5, epoch: "b" });
    positions.delete("org:1");
    expect(positions.get("org:1")).toBeUndefined();
    expect(positions.get("org:2")).toEqual({ offset: 5, epoch: "b" });
  });
});

describe("positionOf", () => {
  it("reads offset and epoch", () => {
    expect(positionOf({ offset: 0, epoch: "e" })).toEqual({ offset: 0, epoch: "e" });
  });

  it.each([
    [{}],
    [{ offset: 1 }],
    [{ epoch: "e" }],
    [{ offset: -1, epoch: "e" }],
    [{ offset: 1.5, epoch: "e" }],
    [{ offset: 0, epoch: "" }],
  ])("is undefined for %j", (value) => {
    expect(positionOf(value)).toBeUndefined();
  });
});
