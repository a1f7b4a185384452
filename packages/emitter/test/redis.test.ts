import { type RedisServer, startRedis } from "@hub/devkit";
import { PublishError } from "@hub/events";
import { DEAD_LETTER_TTL_MS, DEDUPE_WINDOW_MS, type DeadLetter, hubKeys, redisDeadLetters, redisEventSink } from "@hub/store";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHubEmitter } from "../src/index.js";

let server: RedisServer;
let redis: Redis;
const keys = hubKeys("t");

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

const letter = (overrides: Partial<DeadLetter> = {}): DeadLetter => ({
  source: "http",
  code: "invalid_event",
  message: "bad",
  issues: [],
  orgId: "42",
  type: "roster.player_hired",
  raw: "{}",
  truncated: false,
  channel: undefined,
  receivedAt: Date.now(),
  ...overrides,
});

describe("dedupe window on the Redis engine", () => {
  it("keeps the dedupe key of a published id for 5 minutes (PTTL about 300000 ms)", async () => {
    expect(DEDUPE_WINDOW_MS).toBe(300_000);
    const hub = createHubEmitter({ redis, prefix: "t" });
    const first = await hub.publish({ id: "evt-1", type: "roster.player_hired", org_id: 42, payload: {} });
    expect(first.duplicate).toBe(false);
    const pttl = await redis.pttl(keys.dedupe("org:42", "42", "evt-1"));
    expect(pttl).toBeGreaterThan(300_000 - 5_000);
    expect(pttl).toBeLessThanOrEqual(300_000);
    expect((await hub.publish({ id: "evt-1", type: "roster.player_hired", org_id: 42, payload: {} })).duplicate).toBe(true);
    // A duplicate does not extend the window.
    expect(await redis.pttl(keys.dedupe("org:42", "42", "evt-1"))).toBeLessThanOrEqual(pttl);
  });

  it("the sink's window is what it is given", async () => {
    const sink = redisEventSink(redis, keys, { windowMs: 12_345 });
    const envelope = { id: "x", type: "roster.player_hired", topic: "org:1", org_id: "1", data: {}, ts: Date.now() };
    expect(await sink.deliver({ orgId: "1", id: "x" }, [{ topic: "org:1", clientEvent: "roster.player_hired", envelope }])).toBe(true);
    const pttl = await redis.pttl(keys.dedupe("org:1", "1", "x"));
    expect(pttl).toBeGreaterThan(12_345 - 5_000);
    expect(pttl).toBeLessThanOrEqual(12_345);
  });
});

describe("dead letters on Redis", () => {
  it("writes no fingerprint key without a fingerprint, one with", async () => {
    const dlq = redisDeadLetters(redis, keys);
    expect(await dlq.append(letter())).toEqual({ stream: "42:roster.player_hired", overflow: false });
    expect(await dlq.append(letter())).toEqual({ stream: "42:roster.player_hired", overflow: false });
    expect(await redis.keys("t:dlq-seen:*")).toEqual([]);
    expect(await redis.xlen(keys.deadLetters("42:roster.player_hired"))).toBe(2);

    expect(await dlq.append(letter(), "fp-1")).toMatchObject({ overflow: false });
    expect(await dlq.append(letter(), "fp-1")).toBe(false);
    expect(await redis.keys("t:dlq-seen:*")).toEqual([keys.deadLetterSeen("42", "fp-1")]);
    expect(await redis.xlen(keys.deadLetters("42:roster.player_hired"))).toBe(3);
  });

  it("gives each stream and the indexes a 7-day TTL, refreshed on each write", async () => {
    expect(DEAD_LETTER_TTL_MS).toBe(7 * 86_400_000);
    const dlq = redisDeadLetters(redis, keys);
    await dlq.append(letter());
    const stream = keys.deadLetters("42:roster.player_hired");
    const first = await redis.pttl(stream);
    expect(first).toBeGreaterThan(DEAD_LETTER_TTL_MS - 60_000);
    expect(first).toBeLessThanOrEqual(DEAD_LETTER_TTL_MS);
    expect(await redis.pttl(keys.deadLetterIndex("42"))).toBeGreaterThan(DEAD_LETTER_TTL_MS - 60_000);
    expect(await redis.pttl(keys.deadLetterOrgs)).toBeGreaterThan(DEAD_LETTER_TTL_MS - 60_000);
    expect(await redis.pttl(keys.deadLetterSourceIndex("http"))).toBeGreaterThan(DEAD_LETTER_TTL_MS - 60_000);

    // A shorter TTL makes the refresh visible.
    await redis.pexpire(stream, 1_000);
    await dlq.append(letter());
    expect(await redis.pttl(stream)).toBeGreaterThan(DEAD_LETTER_TTL_MS - 60_000);
  });

  it("lets an abandoned stream expire and the index forget it", async () => {
    let now = 1_000_000_000_000;
    const ttlMs = 60_000;
    const dlq = redisDeadLetters(redis, keys, { ttlMs, now: () => now });
    await dlq.append(letter({ orgId: "1" }));
    await dlq.append(letter({ orgId: "2" }));
    expect((await dlq.streams()).map((s) => s.stream)).toEqual(["1:roster.player_hired", "2:roster.player_hired"]);

    // Org 1 keeps writing, org 2's stream is abandoned.
    now += ttlMs / 2;
    await dlq.append(letter({ orgId: "1" }));
    now += ttlMs / 2 + 1;
    expect((await dlq.streams()).map((s) => s.stream)).toEqual(["1:roster.player_hired"]);
    expect(await redis.zrange(keys.deadLetterOrgs, 0, -1)).toEqual(["1"]);
    expect(await redis.zrange(keys.deadLetterIndex("1"), 0, -1)).toEqual(["1:roster.player_hired"]);

    // A write prunes the indexes it writes too, whether or not anyone lists them.
    now += ttlMs + 1;
    await dlq.append(letter({ orgId: "3" }));
    expect(await redis.zrange(keys.deadLetterOrgs, 0, -1)).toEqual(["3"]);
    expect(await redis.zrange(keys.deadLetterSourceIndex("http"), 0, -1)).toEqual(["3:roster.player_hired"]);
    // An org's index forgets its streams that expired while the org kept writing others.
    await dlq.append(letter({ orgId: "3", type: "match.any" }));
    expect(await redis.zrange(keys.deadLetterIndex("3"), 0, -1)).toEqual(["3:match.any", "3:roster.player_hired"]);
    now += ttlMs + 1;
    await dlq.append(letter({ orgId: "3" }));
    expect(await redis.zrange(keys.deadLetterIndex("3"), 0, -1)).toEqual(["3:roster.player_hired"]);
  });

  it("expires streams on the Redis clock", async () => {
    const dlq = redisDeadLetters(redis, keys, { ttlMs: 200 });
    await dlq.append(letter());
    const stream = keys.deadLetters("42:roster.player_hired");
    expect(await redis.exists(stream)).toBe(1);
    const deadline = Date.now() + 5_000;
    while ((await redis.exists(stream)) === 1 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(await redis.exists(stream)).toBe(0);
    expect(await dlq.streams()).toEqual([]);
  });

  it("files the SDK's rejections under {org}:{type} only for known types", async () => {
    const hub = createHubEmitter({ redis, prefix: "t" });
    const bad = [
      { type: "ticket.sold", org_id: 42, payload: {} },
      { type: "ticket.refunded", org_id: 42, payload: {} },
      { type: "tournament_match.confirmed", org_id: 42, payload: {} },
    ];
    for (const event of bad) await expect(hub.publish(event)).rejects.toBeInstanceOf(PublishError);
    const dlq = redisDeadLetters(redis, keys);
    expect(await dlq.streams()).toEqual([
      { stream: "42:tournament_match.confirmed", length: 1 },
      { stream: "_unknown", length: 2 },
    ]);
    expect(await redis.keys("t:dlq-seen:*")).toEqual([]);
  });
});
