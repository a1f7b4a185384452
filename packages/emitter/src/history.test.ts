import { describe, expect, it } from "vitest";
import { type RawRead, type StoredEntry, settleRead } from "./history.js";
import { MemoryHistory } from "./memory-history.js";

const policy = { ttlMs: 60_000, size: 5 };
const entry = (offset: number, addedAt: number): StoredEntry => ({
  clientEvent: "e",
  envelope: { id: `id${offset}`, type: "t", topic: "org:o", org_id: "o", data: {}, ts: addedAt, offset, epoch: "E" },
  offset,
  addedAt,
});
const raw = (top: number, from: number, sinceMatched: boolean, addedAt = 1_000): RawRead => ({
  position: { epoch: "E", offset: top },
  sinceMatched,
  entries: Array.from({ length: top - from }, (_, i) => entry(from + 1 + i, addedAt)),
});

describe("settleRead", () => {
  it("recovers when every event after since is there, and replays them", () => {
    const read = settleRead(raw(5, 2, true), { since: { offset: 2, epoch: "E" } }, policy, 2_000);
    expect(read.recovered).toBe(true);
    expect(read.entries.map((e) => e.envelope.offset)).toEqual([3, 4, 5]);
  });

  it("recovers with nothing to replay at the head", () => {
    expect(settleRead(raw(5, 5, true), { since: { offset: 5, epoch: "E" } }, policy, 2_000)).toMatchObject({
      recovered: true,
      entries: [],
    });
  });

  it("does not recover another epoch, a hole after since, or an offset past the head", () => {
    expect(settleRead(raw(5, 5, false), { since: { offset: 2, epoch: "X" } }, policy, 2_000).recovered).toBe(false);
    const trimmed = { ...raw(5, 2, true), entries: raw(5, 3, true).entries };
    expect(settleRead(trimmed, { since: { offset: 2, epoch: "E" } }, policy, 2_000)).toMatchObject({ recovered: false, entries: [] });
    expect(settleRead(raw(5, 5, true), { since: { offset: 9, epoch: "E" } }, policy, 2_000).recovered).toBe(false);
  });

  it("treats entries older than the TTL as gone", () => {
    const old = raw(5, 2, true, 1_000);
    expect(settleRead(old, { since: { offset: 2, epoch: "E" } }, policy, 1_000 + policy.ttlMs)).toMatchObject({
      recovered: false,
      entries: [],
    });
    expect(settleRead(old, { fromCursor: true }, policy, 1_000 + policy.ttlMs).entries).toEqual([]);
  });

  it("store-and-forward delivers what is left even when since cannot be recovered", () => {
    const trimmed = { ...raw(5, 2, true), entries: raw(5, 3, true).entries };
    const read = settleRead(trimmed, { since: { offset: 2, epoch: "E" }, fromCursor: true }, policy, 2_000);
    expect(read.recovered).toBe(false);
    expect(read.entries.map((e) => e.envelope.offset)).toEqual([4, 5]);
  });

  it("says nothing about recovery without since", () => {
    expect(settleRead(raw(5, 5, false), {}, policy, 2_000).recovered).toBeUndefined();
  });
});

describe("MemoryHistory", () => {
  const add = (history: MemoryHistory, topic: string, id: string) =>
    history.append(topic, policy, { clientEvent: "e", envelope: { id, type: "t", topic, org_id: "o", data: {}, ts: 0 } });

  it("gives strictly increasing offsets per topic in one epoch and keeps the last `size` events", async () => {
    const history = new MemoryHistory();
    const offsets = ["a", "b", "c", "d", "e", "f", "g"].map((id) => add(history, "org:o", id).offset);
    expect(offsets).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(add(history, "org:p", "x").offset).toBe(1);
    const { position } = await history.read("org:o", policy, {});
    expect(position.offset).toBe(8 - 1);
    const read = await history.read("org:o", policy, { since: { offset: 3, epoch: position.epoch } });
    expect(read).toMatchObject({ recovered: true });
    expect(read.entries.map((e) => e.envelope.id)).toEqual(["d", "e", "f", "g"]);
    expect((await history.read("org:o", policy, { since: { offset: 1, epoch: position.epoch } })).recovered).toBe(false);
  });

  it("keeps a cursor that only moves forward, within the offsets given out, and delivers after it", async () => {
    const history = new MemoryHistory();
    for (const id of ["a", "b", "c"]) add(history, "notifications:u", id);
    expect(await history.acknowledge("notifications:u", policy, 2)).toBe(2);
    expect(await history.acknowledge("notifications:u", policy, 1)).toBe(2);
    expect(await history.acknowledge("notifications:u", policy, 99)).toBe(2);
    expect(await history.acknowledge("notifications:u", policy, 3, "another-epoch")).toBe(2);
    expect(await history.acknowledge("notifications:u", policy, 3)).toBe(3);
    add(history, "notifications:u", "d");
    const read = await history.read("notifications:u", policy, { fromCursor: true });
    expect(read.entries.map((e) => e.envelope.id)).toEqual(["d"]);
  });

  it("forgets the least recently used topic past its bound, which starts a new epoch", async () => {
    const history = new MemoryHistory(2);
    add(history, "org:a", "1");
    const { position: first } = await history.read("org:a", policy, {});
    add(history, "org:b", "1");
    add(history, "org:c", "1");
    const again = await history.read("org:a", policy, { since: first });
    expect(again.recovered).toBe(false);
    expect(again.position.epoch).not.toBe(first.epoch);
    expect(again.position.offset).toBe(0);
  });
});
