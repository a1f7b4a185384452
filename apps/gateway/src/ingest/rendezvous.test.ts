import { describe, expect, it } from "vitest";
import { isRendezvousOwner, rendezvousOwners, rendezvousWeight } from "./rendezvous.js";

const channels = Array.from({ length: 10_000 }, (_, i) => `prostaff:events:${i + 1}`);
const gateways = (n: number) => Array.from({ length: n }, (_, i) => `gw-${i + 1}`);

/** How many channels each member is among the `count` owners of. */
function shares(members: readonly string[], count: number): Map<string, number> {
  const tally = new Map(members.map((m) => [m, 0]));
  for (const channel of channels)
    for (const owner of rendezvousOwners(channel, members, count)) tally.set(owner, (tally.get(owner) ?? 0) + 1);
  return tally;
}

describe("rendezvous hashing", () => {
  it("is deterministic: the same key and members give the same owners, whatever the members' order", () => {
    const members = gateways(5);
    const reversed = [...members].reverse();
    for (const channel of channels.slice(0, 500)) {
      const owners = rendezvousOwners(channel, members, 2);
      expect(owners).toHaveLength(2);
      expect(rendezvousOwners(channel, reversed, 2)).toEqual(owners);
      expect(rendezvousOwners(channel, members, 2)).toEqual(owners);
    }
    // Pinned: the weight is how gateways agree on owners, so a release must not change it.
    expect([rendezvousWeight("gw-1", "prostaff:events:42"), rendezvousWeight("gw-2", "prostaff:events:42")]).toEqual([
      2_596_755_836, 4_217_415_922,
    ]);
    expect(rendezvousWeight("gw-1", "prostaff:events:42")).not.toBe(rendezvousWeight("gw-1", "prostaff:events:43"));
    expect(rendezvousWeight("gw-1", "prostaff:events:42")).not.toBe(rendezvousWeight("gw-2", "prostaff:events:42"));
  });

  it("agrees with itself: isRendezvousOwner is membership in rendezvousOwners", () => {
    for (const n of [1, 2, 3, 4, 7]) {
      const members = gateways(n);
      for (const channel of channels.slice(0, 300)) {
        const owners = rendezvousOwners(channel, members, 2);
        for (const member of [...members, "gw-absent"])
          expect(isRendezvousOwner(member, channel, members, 2)).toBe(owners.includes(member));
      }
    }
  });

  it("gives every member about its share: 2/N of the keys with two owners each", () => {
    for (const n of [3, 4, 8]) {
      const expected = (channels.length * 2) / n;
      for (const [member, owned] of shares(gateways(n), 2)) {
        expect(Math.abs(owned - expected) / expected, `${member} of ${n} owns ${owned}, expected about ${expected}`).toBeLessThan(0.08);
      }
    }
  });

  it("with one or two members, every member owns every key", () => {
    for (const members of [gateways(1), gateways(2)]) {
      for (const channel of channels.slice(0, 200)) {
        for (const member of members) expect(isRendezvousOwner(member, channel, members, 2)).toBe(true);
      }
    }
  });

  it("is stable when a member joins: only the keys it wins move (about 1/N of the owner slots), each to it", () => {
    const before = gateways(4);
    const after = [...before, "gw-5"];
    let moved = 0;
    for (const channel of channels) {
      const was = rendezvousOwners(channel, before, 2);
      const is = rendezvousOwners(channel, after, 2);
      const lost = was.filter((m) => !is.includes(m));
      const gained = is.filter((m) => !was.includes(m));
      // One member joined: at most one owner is displaced, and only by the newcomer; the owner that stays keeps the key.
      expect(lost.length).toBeLessThanOrEqual(1);
      expect(gained).toEqual(lost.length === 0 ? [] : ["gw-5"]);
      expect(is.filter((m) => was.includes(m)).length).toBeGreaterThanOrEqual(1);
      moved += lost.length;
    }
    // Owner slots are 2 per key; the newcomer takes 2/5 of them, so 1/5 of the slots move.
    const fraction = moved / (channels.length * 2);
    expect(fraction).toBeGreaterThan(0.17);
    expect(fraction).toBeLessThan(0.23);
  });

  it("is stable when a member leaves: only its keys move, and the other owner of each stays", () => {
    const before = gateways(5);
    const after = before.filter((m) => m !== "gw-3");
    for (const channel of channels) {
      const was = rendezvousOwners(channel, before, 2);
      const is = rendezvousOwners(channel, after, 2);
      if (!was.includes("gw-3")) expect(is).toEqual(was);
      else expect(is).toContain(was.find((m) => m !== "gw-3"));
    }
  });
});
