import { type RedisServer, startRedis } from "@hub/devkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEAD_LETTER_MAX_STREAMS_PER_SOURCE,
  type DeadLetter,
  type DeadLetters,
  hubKeys,
  type IngestSource,
  memoryDeadLetters,
  redisDeadLetters,
} from "../src/index.js";

/**
 * The dead-letter queue's bounds in streams (per source, then one overflow stream per source) and
 * its paged listing, the same on both engines.
 */

let server: RedisServer;
let redis: Redis;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

interface Options {
  maxStreamsPerSource?: number;
  ttlMs?: number;
  now?: () => number;
}

const ENGINES: Array<{ name: string; create: (options?: Options) => DeadLetters }> = [
  { name: "memory", create: (options = {}) => memoryDeadLetters(options) },
  // Each queue its own prefix on the shared server.
  { name: "redis", create: (options = {}) => redisDeadLetters(redis, hubKeys(`dl${prefixes++}`), options) },
];

const letter = (orgId: string, source: IngestSource = "webhook", type = "match.any"): DeadLetter => ({
  source,
  code: "invalid_event",
  message: "bad",
  issues: [],
  orgId,
  type,
  raw: JSON.stringify({ org_id: orgId }),
  truncated: false,
  channel: undefined,
  receivedAt: Date.now(),
});

/** Every stream, read page by page with `limit`; fails on a repeated or out-of-order name. */
async function allPages(dlq: DeadLetters, limit: number): Promise<Array<{ stream: string; length: number }>> {
  const all: Array<{ stream: string; length: number }> = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1_000; pages++) {
    const page = await dlq.streamPage({ limit, ...(after === undefined ? {} : { after }) });
    expect(page.streams.length).toBeLessThanOrEqual(limit);
    all.push(...page.streams);
    if (page.next === undefined) return all;
    after = page.next;
  }
  throw new Error("streamPage never ended");
}

describe.each(ENGINES)("dead-letter limits ($name)", ({ create }) => {
  it("caps a source at 1,000 streams by default", () => {
    expect(DEAD_LETTER_MAX_STREAMS_PER_SOURCE).toBe(1_000);
  });

  it("writes a source's entries past its cap to _overflow:{source}, keeping every entry and its org", async () => {
    const dlq = create({ maxStreamsPerSource: 50 });
    const receipts = [];
    for (let org = 1; org <= 300; org++) receipts.push(await dlq.append(letter(String(org))));
    expect(receipts.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => ({ stream: `${i + 1}:match.any`, overflow: false })));
    expect(receipts.slice(50)).toEqual(Array.from({ length: 250 }, () => ({ stream: "_overflow:webhook", overflow: true })));

    const streams = await dlq.streams();
    expect(streams).toHaveLength(51);
    expect(streams.find((s) => s.stream === "_overflow:webhook")).toEqual({ stream: "_overflow:webhook", length: 250 });
    const overflowed = await dlq.entries("_overflow:webhook", { count: 500 });
    expect(overflowed.map((e) => e.orgId)).toEqual(Array.from({ length: 250 }, (_, i) => String(i + 51)));
    expect(overflowed[0]).toMatchObject({ stream: "_overflow:webhook", type: "match.any", source: "webhook" });
  });

  it("keeps writing to a stream the source already has, and counts each source on its own", async () => {
    const dlq = create({ maxStreamsPerSource: 2 });
    await dlq.append(letter("1"));
    await dlq.append(letter("2"));
    expect(await dlq.append(letter("3"))).toEqual({ stream: "_overflow:webhook", overflow: true });
    expect(await dlq.append(letter("1"))).toEqual({ stream: "1:match.any", overflow: false });
    // Another source has its own budget, also for a stream the first one could not create.
    expect(await dlq.append(letter("3", "http"))).toEqual({ stream: "3:match.any", overflow: false });
    // _unknown never counts.
    const unknown = { ...letter("9"), stream: "_unknown", type: "ticket.sold" };
    expect(await dlq.append(unknown)).toEqual({ stream: "_unknown", overflow: false });
    expect((await dlq.streams()).map((s) => s.stream)).toEqual([
      "1:match.any",
      "2:match.any",
      "3:match.any",
      "_overflow:webhook",
      "_unknown",
    ]);
  });

  it("frees a source's slot once the stream is past its lifetime", async () => {
    let now = 1_000_000_000_000;
    const ttlMs = 60_000;
    const dlq = create({ maxStreamsPerSource: 1, ttlMs, now: () => now });
    await dlq.append(letter("1"));
    expect(await dlq.append(letter("2"))).toMatchObject({ overflow: true });
    now += ttlMs + 1;
    expect(await dlq.append(letter("2"))).toEqual({ stream: "2:match.any", overflow: false });
  });

  it("pages the streams by name: every stream once, in order, next undefined on the last page", async () => {
    const dlq = create();
    const names: string[] = [];
    for (let org = 0; org < 250; org++) {
      await dlq.append(letter(`o${String(org).padStart(3, "0")}`, "http"));
      names.push(`o${String(org).padStart(3, "0")}:match.any`);
    }
    for (const limit of [1, 7, 100, 250, 1_000]) {
      const all = await allPages(dlq, limit);
      expect(all.map((s) => s.stream)).toEqual(names);
      expect(all.every((s) => s.length === 1)).toBe(true);
    }
    const first = await dlq.streamPage({ limit: 100 });
    expect(first.streams).toHaveLength(100);
    expect(first.next).toBe("o099:match.any");
    expect(await dlq.streamPage({ limit: 100, after: "o249:match.any" })).toEqual({ streams: [], next: undefined });
    // `after` need not be a stream that exists.
    expect((await dlq.streamPage({ limit: 2, after: "o1" })).streams.map((s) => s.stream)).toEqual(["o100:match.any", "o101:match.any"]);
  });

  it("pages streams in name order when org ids are prefixes of one another", async () => {
    const dlq = create();
    const names: string[] = [];
    for (const org of ["1", "10", "1-a", "1.b", "_unknownish", "2", "100", "Z"]) {
      await dlq.append(letter(org, "http"));
      await dlq.append(letter(org, "http", "roster.any"));
      names.push(`${org}:match.any`, `${org}:roster.any`);
    }
    await dlq.append({ ...letter("9"), stream: "_unknown", type: "ticket.sold" });
    names.push("_unknown");
    names.sort();
    for (const limit of [1, 3, 100]) expect((await allPages(dlq, limit)).map((s) => s.stream)).toEqual(names);
    expect((await dlq.streams()).map((s) => s.stream)).toEqual(names);

    // `p` sorts before `p0`..`p39` but its stream after theirs (`:` sorts after digits): a page of
    // 20 needs more orgs than the first 20 to know that `p:match.any` does not come next.
    const prefixes = create();
    const orgs = ["p", ...Array.from({ length: 40 }, (_, i) => `p${i}`)];
    for (const org of orgs) await prefixes.append(letter(org, "http"));
    const sorted = orgs.map((org) => `${org}:match.any`).sort();
    expect((await prefixes.streamPage({ limit: 20 })).streams.map((s) => s.stream)).toEqual(sorted.slice(0, 20));
    expect((await allPages(prefixes, 20)).map((s) => s.stream)).toEqual(sorted);
  });

  it("skips streams whose entries were all removed, still filling the page", async () => {
    const dlq = create();
    for (const org of ["a", "b", "c", "d", "e"]) await dlq.append(letter(org, "http"));
    for (const stream of ["b:match.any", "c:match.any"]) {
      const [entry] = await dlq.entries(stream, { count: 1 });
      await dlq.remove(stream, [entry?.id as string]);
    }
    const page = await dlq.streamPage({ limit: 2 });
    expect(page.streams.map((s) => s.stream)).toEqual(["a:match.any", "d:match.any"]);
    expect(page.next).toBe("d:match.any");
    expect(await dlq.streamPage({ limit: 2, after: page.next as string })).toEqual({
      streams: [{ stream: "e:match.any", length: 1 }],
      next: undefined,
    });
  });
});
