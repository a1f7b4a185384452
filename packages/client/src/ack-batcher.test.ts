import type { StreamPosition } from "@hub/events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AckBatcher } from "./ack-batcher.js";

describe("AckBatcher", () => {
  let sent: Array<[string, StreamPosition]>;
  let batcher: AckBatcher;

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    batcher = new AckBatcher({ delayMs: 100, maxDelayMs: 500, send: (topic, position) => sent.push([topic, position]) });
  });
  afterEach(() => {
    batcher.close();
    vi.useRealTimers();
  });

  it("sends one cumulative ack per burst, after the burst", () => {
    for (let offset = 1; offset <= 20; offset++) {
      batcher.note("notifications:u1", { offset, epoch: "e" });
      vi.advanceTimersByTime(10);
    }
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([["notifications:u1", { offset: 20, epoch: "e" }]]);
  });

  it("does not wait past maxDelayMs during a steady stream", () => {
    for (let offset = 1; offset <= 60; offset++) {
      batcher.note("t", { offset, epoch: "e" });
      vi.advanceTimersByTime(50);
    }
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expect(sent.map(([, p]) => p.offset)).toEqual([...sent.map(([, p]) => p.offset)].sort((a, b) => a - b));
  });

  it("never acks backwards, and a new epoch replaces the old", () => {
    batcher.note("t", { offset: 5, epoch: "e" });
    batcher.note("t", { offset: 3, epoch: "e" });
    vi.advanceTimersByTime(100);
    batcher.note("t", { offset: 9, epoch: "e" });
    batcher.note("t", { offset: 1, epoch: "f" });
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([
      ["t", { offset: 5, epoch: "e" }],
      ["t", { offset: 1, epoch: "f" }],
    ]);
  });

  it("keeps topics apart; flush sends now; close drops what is pending", () => {
    batcher.note("a", { offset: 1, epoch: "e" });
    batcher.note("b", { offset: 2, epoch: "e" });
    batcher.flush("a");
    expect(sent).toEqual([["a", { offset: 1, epoch: "e" }]]);
    batcher.close();
    vi.advanceTimersByTime(1_000);
    expect(sent).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
