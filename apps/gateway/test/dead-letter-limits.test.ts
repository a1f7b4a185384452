import { randomUUID } from "node:crypto";
import { serviceToken } from "@hub/devkit";
import type { DeadLetterEntry } from "@hub/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HubFixture, memoryHub, redisHub } from "./hub-fixture.js";

/**
 * The dead-letter queue's bounds as the gateways apply them (docs/protocol.md "Dead-letter queue"):
 * a producer path that names ever new orgs fills `DLQ_MAX_STREAMS_PER_SOURCE` streams, then its
 * overflow stream, losing nothing; `GET /api/v1/dlq` is paged. On Redis the queue is written
 * through one node and read through the other.
 */

const API_KEY = "test-scraper-key";
const CAP = 50;
const ENV = { SCRAPER_API_KEY: API_KEY, DLQ_MAX_STREAMS_PER_SOURCE: String(CAP) };

const ENGINES: Array<{ name: string; start: () => Promise<HubFixture> }> = [
  { name: "memory engine, one node", start: () => memoryHub(ENV) },
  { name: "redis engine, two nodes", start: () => redisHub(2, ENV) },
];

interface StreamPage {
  streams: Array<{ stream: string; length: number }>;
  next_cursor: string | null;
}

async function bounded<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

describe.each(ENGINES)("dead-letter streams per source and GET /api/v1/dlq pages ($name)", ({ start }) => {
  let hub: HubFixture;
  let ingress: string;
  let reader: string;
  let auth: Record<string, string>;
  const marker = `dlq-cap-${randomUUID().slice(0, 8)}`;

  /** One bad event (a payload that is not an object) of a known type, so it is filed under its org. */
  const bad = (org: string) => JSON.stringify({ type: "match.scraped", org_id: org, payload: `not an object ${marker}` });

  beforeAll(async () => {
    hub = await start();
    ingress = hub.gateways[0]?.url as string;
    reader = hub.gateways.at(-1)?.url as string;
    auth = { authorization: `Bearer ${await serviceToken()}` };
    // 300 webhook calls and 60 internal-API calls, each naming an org of its own.
    const statuses = [
      ...(await bounded(300, 16, async (i) => {
        const res = await fetch(`${ingress}/events/notify`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": API_KEY },
          body: bad(`w${i}`),
        });
        await res.arrayBuffer();
        return res.status;
      })),
      ...(await bounded(60, 16, async (i) => {
        const res = await fetch(`${ingress}/api/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json", ...auth },
          body: bad(`h${i}`),
        });
        await res.arrayBuffer();
        return res.status;
      })),
    ];
    expect(statuses.filter((status) => status !== 400)).toEqual([]);
  });
  afterAll(async () => {
    await hub?.close();
  });

  async function page(query: Record<string, string> = {}): Promise<StreamPage> {
    const res = await fetch(`${reader}/api/v1/dlq?${new URLSearchParams(query)}`, { headers: auth });
    expect(res.status).toBe(200);
    return (await res.json()) as StreamPage;
  }

  /** Every stream, page by page, following next_cursor. */
  async function allStreams(limit: number): Promise<StreamPage["streams"]> {
    const all: StreamPage["streams"] = [];
    let cursor: string | null = null;
    do {
      const next: StreamPage = await page({ limit: String(limit), ...(cursor === null ? {} : { cursor }) });
      expect(next.streams.length).toBeLessThanOrEqual(limit);
      all.push(...next.streams);
      cursor = next.next_cursor;
    } while (cursor !== null);
    return all;
  }

  async function entries(stream: string): Promise<DeadLetterEntry[]> {
    const res = await fetch(`${reader}/api/v1/dlq/${encodeURIComponent(stream)}/entries?count=500`, { headers: auth });
    expect(res.status).toBe(200);
    return ((await res.json()) as { entries: DeadLetterEntry[] }).entries;
  }

  it("keeps each source to DLQ_MAX_STREAMS_PER_SOURCE streams, the rest in its overflow stream, every entry kept", async () => {
    const streams = await allStreams(1_000);
    const webhook = streams.filter((s) => s.stream.startsWith("w"));
    const http = streams.filter((s) => s.stream.startsWith("h"));
    expect(webhook).toHaveLength(CAP);
    expect(http).toHaveLength(CAP);
    expect(streams.find((s) => s.stream === "_overflow:webhook")).toEqual({ stream: "_overflow:webhook", length: 300 - CAP });
    expect(streams.find((s) => s.stream === "_overflow:http")).toEqual({ stream: "_overflow:http", length: 60 - CAP });

    // Nothing lost: each of the 360 refused events is in exactly one stream, with the org it named.
    const all = (await Promise.all(streams.map((s) => entries(s.stream)))).flat().filter((e) => e.raw.includes(marker));
    expect(all.map((e) => e.orgId).sort()).toEqual(
      [...Array.from({ length: 300 }, (_, i) => `w${i}`), ...Array.from({ length: 60 }, (_, i) => `h${i}`)].sort(),
    );
    const overflowed = await entries("_overflow:webhook");
    expect(overflowed.every((e) => e.source === "webhook" && e.code === "invalid_event" && e.type === "match.scraped")).toBe(true);
  });

  it("counts the overflowed entries in hub_dead_letter_overflow_total", async () => {
    const text = await (await fetch(`${ingress}/metrics`)).text();
    expect(text).toContain(`hub_dead_letter_overflow_total{source="webhook"} ${300 - CAP}`);
    expect(text).toContain(`hub_dead_letter_overflow_total{source="http"} ${60 - CAP}`);
    expect(text).toContain('hub_dead_letter_overflow_total{source="legacy"} 0');
  });

  it("pages GET /api/v1/dlq: 100 by default, next_cursor until the last page, each stream once in name order", async () => {
    const first = await page();
    expect(first.streams).toHaveLength(100);
    expect(first.next_cursor).toEqual(expect.any(String));
    const everything = await allStreams(1_000);
    // 2 x CAP org streams and the two overflow streams.
    expect(everything).toHaveLength(2 * CAP + 2);
    expect(first.streams).toEqual(everything.slice(0, 100));
    const second = await page({ cursor: first.next_cursor as string });
    expect(second).toEqual({ streams: everything.slice(100), next_cursor: null });
    for (const limit of [1, 7, 1_000]) expect(await allStreams(limit), `limit ${limit}`).toEqual(everything);
    const names = everything.map((s) => s.stream);
    expect(names).toEqual([...names].sort());
  });

  it.each([
    ["limit=0", { limit: "0" }],
    ["limit=1001", { limit: "1001" }],
    ["limit=ten", { limit: "ten" }],
    ["limit=1.5", { limit: "1.5" }],
    ["a made-up cursor", { cursor: "bm90IGEgY3Vyc29y!" }],
    ["a cursor that decodes to no stream name", { cursor: Buffer.from("no stream").toString("base64url") }],
  ])("refuses %s with 400 bad_request", async (_label, query) => {
    const res = await fetch(`${reader}/api/v1/dlq?${new URLSearchParams(query)}`, { headers: auth });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_request");
  });
});
