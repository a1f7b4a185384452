import { describe, expect, it } from "vitest";
import { DEAD_LETTER_STREAM_LENGTH, DEAD_LETTER_TTL_MS, type DeadLetter } from "./dead-letters.js";
import { memoryDeadLetters } from "./memory-dead-letters.js";

const letter = (n: number, overrides: Partial<DeadLetter> = {}): DeadLetter => ({
  source: "http",
  code: "invalid_event",
  message: `bad ${n}`,
  issues: [],
  orgId: "42",
  type: "roster.player_hired",
  raw: `{"n":${n}}`,
  truncated: false,
  channel: undefined,
  receivedAt: 1_000 + n,
  ...overrides,
});

describe("memoryDeadLetters", () => {
  it("caps each stream at 10,000 entries by default, dropping the oldest", async () => {
    const dlq = memoryDeadLetters();
    for (let n = 0; n < DEAD_LETTER_STREAM_LENGTH + 5; n++) await dlq.append(letter(n));
    expect(await dlq.streams()).toEqual([{ stream: "42:roster.player_hired", length: DEAD_LETTER_STREAM_LENGTH }]);
    const [oldest] = await dlq.entries("42:roster.player_hired", { count: 1 });
    expect(oldest?.raw).toBe('{"n":5}');
  });

  it("caps a stream at the given length (number argument kept for compatibility)", async () => {
    const dlq = memoryDeadLetters(3);
    for (let n = 0; n < 5; n++) await dlq.append(letter(n));
    const entries = await dlq.entries("42:roster.player_hired", { count: 10 });
    expect(entries.map((e) => e.raw)).toEqual(['{"n":2}', '{"n":3}', '{"n":4}']);
  });

  it("appends to the stream the letter names, else {org}:{type}", async () => {
    const dlq = memoryDeadLetters();
    await dlq.append(letter(1, { stream: "_unknown", type: "ticket.sold" }));
    await dlq.append(letter(2));
    expect(await dlq.streams()).toEqual([
      { stream: "42:roster.player_hired", length: 1 },
      { stream: "_unknown", length: 1 },
    ]);
    const [entry] = await dlq.entries("_unknown", { count: 1 });
    expect(entry).toMatchObject({ stream: "_unknown", type: "ticket.sold", orgId: "42" });
  });

  it("drops a stream 7 days after its last write", async () => {
    let now = 0;
    const dlq = memoryDeadLetters({ now: () => now });
    await dlq.append(letter(1, { orgId: "1" }));
    await dlq.append(letter(2, { orgId: "2" }));
    now = DEAD_LETTER_TTL_MS - 1;
    await dlq.append(letter(3, { orgId: "1" }));
    expect((await dlq.streams()).map((s) => s.stream)).toEqual(["1:roster.player_hired", "2:roster.player_hired"]);
    now = DEAD_LETTER_TTL_MS;
    expect((await dlq.streams()).map((s) => s.stream)).toEqual(["1:roster.player_hired"]);
    expect(await dlq.entries("2:roster.player_hired", { count: 10 })).toEqual([]);
    now = 2 * DEAD_LETTER_TTL_MS;
    expect(await dlq.streams()).toEqual([]);
  });

  it("keeps at most maxStreamsPerSource streams per source, then fills its overflow stream; drops no stream", async () => {
    const dlq = memoryDeadLetters({ maxStreamsPerSource: 2 });
    expect(await dlq.append(letter(1, { orgId: "1" }))).toEqual({ stream: "1:roster.player_hired", overflow: false });
    await dlq.append(letter(2, { orgId: "2" }));
    expect(await dlq.append(letter(3, { orgId: "3" }))).toEqual({ stream: "_overflow:http", overflow: true });
    expect(await dlq.append(letter(4, { orgId: "1" }))).toEqual({ stream: "1:roster.player_hired", overflow: false });
    await dlq.append(letter(5, { orgId: "3", source: "webhook" }));
    expect((await dlq.streams()).map((s) => s.stream)).toEqual([
      "1:roster.player_hired",
      "2:roster.player_hired",
      "3:roster.player_hired",
      "_overflow:http",
    ]);
  });

  it("records a fingerprinted input once", async () => {
    const dlq = memoryDeadLetters();
    expect(await dlq.append(letter(1), "fp")).toMatchObject({ overflow: false });
    expect(await dlq.append(letter(1), "fp")).toBe(false);
    expect(await dlq.append(letter(1))).toMatchObject({ overflow: false });
    expect(await dlq.streams()).toEqual([{ stream: "42:roster.player_hired", length: 2 }]);
  });
});
