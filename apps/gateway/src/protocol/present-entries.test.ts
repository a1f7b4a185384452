import { describe, expect, it } from "vitest";
import type { PresenceEntry } from "../presence/presence.js";
import { PresentEntries } from "./present-entries.js";

const entry = (topic: string): PresenceEntry => ({ topic, userId: "u1", orgId: "o1", connectionId: "s1" });

describe("PresentEntries: a socket's presence entries by room", () => {
  it("holds one entry, then several, then one again, each found by its room", () => {
    const present = new PresentEntries();
    const socket = {};
    const [a, b, c] = [entry("a"), entry("b"), entry("c")];
    present.add(socket, a);
    expect(present.get(socket, "a")).toBe(a);
    expect(present.get(socket, "b")).toBeUndefined();
    present.add(socket, b);
    present.add(socket, c);
    expect([present.get(socket, "a"), present.get(socket, "b"), present.get(socket, "c")]).toEqual([a, b, c]);
    expect(present.remove(socket, "b")).toBe(b);
    expect(present.remove(socket, "b")).toBeUndefined();
    expect(present.get(socket, "b")).toBeUndefined();
    expect(present.takeAll(socket)).toEqual([a, c]);
    expect(present.takeAll(socket)).toEqual([]);
    expect(present.get(socket, "a")).toBeUndefined();
  });

  it("keeps sockets apart and forgets a socket whose last entry is removed", () => {
    const present = new PresentEntries();
    const [one, two] = [{}, {}];
    present.add(one, entry("a"));
    present.add(two, entry("a"));
    expect(present.remove(one, "z")).toBeUndefined();
    expect(present.remove(one, "a")?.topic).toBe("a");
    expect(present.takeAll(one)).toEqual([]);
    expect(present.takeAll(two)).toEqual([entry("a")]);
  });

  it("an entry added again on the same room replaces the one there", () => {
    const present = new PresentEntries();
    const socket = {};
    const [first, second] = [entry("a"), entry("a")];
    present.add(socket, first);
    present.add(socket, second);
    expect(present.takeAll(socket)).toEqual([second]);
    expect(present.takeAll(socket)[0]).toBeUndefined();
  });
});
