/**
 * Rendezvous (highest-random-weight) hashing: each member scores a key with a hash of the pair, and
 * the key belongs to the highest scores. Every node that knows the same members picks the same
 * owners with no coordination, and adding or removing a member moves only the keys it wins or held
 * (about 1/N of them).
 *
 * The hash is part of how gateways agree: nodes running different versions of it would disagree on
 * owners, so it must not change between releases without a full restart of the gateways.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 code units of `text`, continuing from `hash`. */
function fnv1a(text: string, hash = FNV_OFFSET): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: FNV's low bits mix poorly, this spreads every input bit over the word. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** What a member scores a key with: a hash of `member`, a separator, then `key`. */
export function rendezvousWeight(member: string, key: string): number {
  return fmix32(fnv1a(key, fnv1a("\n", fnv1a(member))));
}

/**
 * The `count` members with the highest weight for `key`, highest first (ties go to the smaller
 * member id). The members' order does not matter.
 *
 * @example
 * rendezvousOwners("prostaff:events:42", ["gw-1", "gw-2", "gw-3"], 2); // e.g. ["gw-3", "gw-1"]
 */
export function rendezvousOwners(key: string, members: readonly string[], count: number): string[] {
  const scored = members.map((member) => ({ member, weight: rendezvousWeight(member, key) }));
  scored.sort((a, b) => b.weight - a.weight || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  return scored.slice(0, count).map((s) => s.member);
}

/** Whether `member` is among the `count` owners of `key`: what the hot path asks, without sorting. */
export function isRendezvousOwner(member: string, key: string, members: readonly string[], count: number): boolean {
  if (members.length <= count) return members.includes(member);
  const own = rendezvousWeight(member, key);
  let above = 0;
  for (const other of members) {
    if (other === member) continue;
    const weight = rendezvousWeight(other, key);
    if (weight > own || (weight === own && other < member)) above++;
    if (above >= count) return false;
  }
  return members.includes(member);
}
