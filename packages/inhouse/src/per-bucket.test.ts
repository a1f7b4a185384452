import { QUEUE_BUCKETS, queueBucket } from "@hub/store";
import { describe, expect, it } from "vitest";
import { CHUNK, perBucket } from "./per-bucket.js";

describe("perBucket", () => {
  it("makes one call per bucket of at most CHUNK queues, and answers per item in input order", async () => {
    const names = Array.from({ length: 3 * CHUNK }, (_, i) => `org/q${i}`);
    const calls: string[][] = [];
    const answers = await perBucket(
      names,
      (name) => name,
      async (part) => {
        calls.push(part);
        return part.map((name) => `${name}!`);
      },
    );
    expect(answers).toEqual(names.map((name) => `${name}!`));
    for (const part of calls) {
      expect(part.length).toBeLessThanOrEqual(CHUNK);
      expect(new Set(part.map(queueBucket)).size).toBe(1);
    }
    // Every bucket holds some of 1,500 names, and none is split more than it must be.
    const buckets = new Set(calls.map((part) => queueBucket(part[0] as string)));
    expect(buckets.size).toBe(QUEUE_BUCKETS);
    expect(calls.length).toBeLessThan(2 * QUEUE_BUCKETS);
  });

  it("makes no call for no items", async () => {
    let calls = 0;
    expect(await perBucket([], String, async () => [++calls])).toEqual([]);
    expect(calls).toBe(0);
  });
});

describe("queueBucket", () => {
  it("is a stable bucket in range, the same for a name whatever process computes it", () => {
    expect(queueBucket("42/evening")).toBe(queueBucket("42/evening"));
    // Pinned: a change here moves every queue's keys in a running deployment.
    expect(["42/evening", "1/1", "org-x/queue-y"].map(queueBucket)).toEqual([8, 8, 6]);
    for (let i = 0; i < 200; i++) {
      const bucket = queueBucket(`o/${i}`);
      expect(Number.isInteger(bucket) && bucket >= 0 && bucket < QUEUE_BUCKETS).toBe(true);
    }
  });
});
