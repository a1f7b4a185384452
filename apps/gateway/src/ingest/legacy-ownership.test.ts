import { describe, expect, it } from "vitest";
import { LegacyOwnership } from "./legacy-ownership.js";
import { rendezvousOwners } from "./rendezvous.js";

const channels = Array.from({ length: 2_000 }, (_, i) => `prostaff:events:${i + 1}`);
const owned = (ownership: LegacyOwnership) => channels.filter((c) => ownership.owns(c));

describe("LegacyOwnership", () => {
  it("processes every channel until its first view, then the channels it is one of two owners of", () => {
    const ownership = new LegacyOwnership("gw-1");
    expect(owned(ownership)).toEqual(channels);
    expect(ownership.update(["gw-1", "gw-2", "gw-3", "gw-4"])).toBe(true);
    const mine = owned(ownership);
    expect(mine).toEqual(channels.filter((c) => rendezvousOwners(c, ["gw-1", "gw-2", "gw-3", "gw-4"], 2).includes("gw-1")));
    expect(mine.length / channels.length).toBeGreaterThan(0.42);
    expect(mine.length / channels.length).toBeLessThan(0.58);
  });

  it("with one or two live gateways processes everything", () => {
    const ownership = new LegacyOwnership("gw-1");
    ownership.update(["gw-1"]);
    expect(owned(ownership)).toEqual(channels);
    ownership.update(["gw-2", "gw-1"]);
    expect(owned(ownership)).toEqual(channels);
  });

  it("keeps the channels it lost for two heartbeats after a change, then drops them", () => {
    const ownership = new LegacyOwnership("gw-1");
    const three = ["gw-1", "gw-2", "gw-3"];
    const four = [...three, "gw-4"];
    ownership.update(three);
    const before = owned(ownership);
    expect(ownership.update(four)).toBe(true);
    const after = channels.filter((c) => rendezvousOwners(c, four, 2).includes("gw-1"));
    expect(after.length).toBeLessThan(before.length);
    // The change's beat and the next: the old view still counts.
    expect(owned(ownership)).toEqual(before);
    expect(ownership.update(four)).toBe(false);
    expect(owned(ownership)).toEqual(before);
    // Two beats after the change: only the new view.
    ownership.update(four);
    expect(owned(ownership)).toEqual(after);
  });

  it("takes a channel it gained from the change's heartbeat on", () => {
    const ownership = new LegacyOwnership("gw-1");
    ownership.update(["gw-1", "gw-2", "gw-3", "gw-4"]);
    ownership.update(["gw-1", "gw-2", "gw-3"]);
    // gw-4 left: gw-1 processes what it owned and what it gained at once.
    const three = channels.filter((c) => rendezvousOwners(c, ["gw-1", "gw-2", "gw-3"], 2).includes("gw-1"));
    for (const channel of three) expect(ownership.owns(channel)).toBe(true);
  });

  it("processes every channel again after forget (heartbeats failing), and partitions at the next view", () => {
    const ownership = new LegacyOwnership("gw-1");
    const members = ["gw-1", "gw-2", "gw-3", "gw-4"];
    ownership.update(members);
    ownership.forget();
    expect(ownership.members()).toBeUndefined();
    expect(owned(ownership)).toEqual(channels);
    expect(ownership.update(members)).toBe(true);
    expect(owned(ownership)).toEqual(channels.filter((c) => rendezvousOwners(c, members, 2).includes("gw-1")));
  });

  it("reads a view the same whatever order or repetition the members come in", () => {
    const ownership = new LegacyOwnership("gw-2");
    ownership.update(["gw-3", "gw-1", "gw-2"]);
    expect(ownership.update(["gw-1", "gw-2", "gw-3", "gw-2"])).toBe(false);
    expect(ownership.members()).toEqual(["gw-1", "gw-2", "gw-3"]);
  });
});
