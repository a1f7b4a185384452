import { EMPTY_EPOCH } from "@hub/events";
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

  const addFor = (history: MemoryHistory, org: string, topic: string, id: string) =>
    history.append(topic, policy, { clientEvent: "e", envelope: { id, type: "t", topic, org_id: org, data: {}, ts: 0 } });

  it("reads write nothing: 10,000 reads of other topics leave a backlog and its epoch as they were", async () => {
    const history = new MemoryHistory(100);
    for (const id of ["a", "b", "c"]) addFor(history, "o1", "notifications:u@o1", id);
    const before = await history.read("notifications:u@o1", policy, { fromCursor: true });
    for (let i = 0; i < 10_000; i++) {
      const read = await history.read(`tournament:t${i}`, policy, { since: { offset: 0, epoch: EMPTY_EPOCH } });
      expect(read.position).toEqual({ epoch: EMPTY_EPOCH, offset: 0 });
    }
    const after = await history.read("notifications:u@o1", policy, { fromCursor: true });
    expect(after.position).toEqual(before.position);
    expect(after.entries.map((e) => e.envelope.id)).toEqual(["a", "b", "c"]);
  });

  it("a topic read before its first event recovers every event of the epoch that event creates", async () => {
    const history = new MemoryHistory();
    const { position } = await history.read("org:o", policy, {});
    expect(position).toEqual({ epoch: EMPTY_EPOCH, offset: 0 });
    for (const id of ["a", "b"]) add(history, "org:o", id);
    const read = await history.read("org:o", policy, { since: position });
    expect(read.recovered).toBe(true);
    expect(read.entries.map((e) => e.envelope.id)).toEqual(["a", "b"]);
    expect(read.position.epoch).not.toBe(EMPTY_EPOCH);
    // A made-up offset of the empty epoch is not a position anything was seen at.
    expect((await history.read("org:o", policy, { since: { offset: 1, epoch: EMPTY_EPOCH } })).recovered).toBe(false);
  });

  it("bounds topics per org: another org's traffic never evicts an org's backlog, its own forgets its least recently published", async () => {
    const history = new MemoryHistory(2);
    addFor(history, "a", "notifications:u@a", "1");
    const { position: first } = await history.read("notifications:u@a", policy, {});
    for (let i = 0; i < 50; i++) addFor(history, "b", `org:b${i}`, "1");
    const kept = await history.read("notifications:u@a", policy, { since: { offset: 0, epoch: first.epoch } });
    expect(kept).toMatchObject({ recovered: true, position: first });
    expect((await history.read("org:b49", policy, {})).position.offset).toBe(1);
    expect((await history.read("org:b0", policy, {})).position.epoch).toBe(EMPTY_EPOCH);

    addFor(history, "a", "org:a", "1");
    addFor(history, "a", "notifications:u@a", "2");
    addFor(history, "a", "inhouse:a", "1");
    expect((await history.read("org:a", policy, {})).position.epoch).toBe(EMPTY_EPOCH);
    expect((await history.read("notifications:u@a", policy, {})).position).toEqual({ epoch: first.epoch, offset: 2 });
  });

  it("forgets a topic once its epoch expired (TTL + 24 h after its last event): its next event starts a new epoch", async () => {
    let now = 1_000;
    const history = new MemoryHistory(10, () => now);
    add(history, "org:a", "1");
    const { position } = await history.read("org:a", policy, {});
    now += policy.ttlMs + 24 * 60 * 60 * 1000 - 1;
    expect((await history.read("org:a", policy, {})).position).toEqual(position);
    now += 1;
    expect((await history.read("org:a", policy, {})).position).toEqual({ epoch: EMPTY_EPOCH, offset: 0 });
    add(history, "org:a", "2");
    const again = await history.read("org:a", policy, { since: position });
    expect(again.recovered).toBe(false);
    expect(again.position.epoch).not.toBe(position.epoch);
  });
});
