import { MAX_EVENT_BYTES, normalizeId, PublishError, type PublishErrorCode } from "@hub/events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DeadLetterEntry, MAX_RAW_BYTES } from "./dead-letters.js";
import type { EventSink, Outgoing } from "./event-sink.js";
import { memoryDeadLetters } from "./memory-dead-letters.js";
import { createPublisher, type PublishContext, type PublisherOptions, UNSERIALIZABLE_RAW } from "./publisher.js";
import { replayDeadLetters } from "./replay.js";

/** A sink that records what reaches it and treats every id as new. */
function recordingSink(): EventSink & { delivered: Outgoing[][] } {
  const delivered: Outgoing[][] = [];
  return {
    delivered,
    async deliver(_event, outgoing) {
      delivered.push([...outgoing]);
      return true;
    },
    async deliverClient() {
      throw new Error("the producer pipeline delivers no client publications");
    },
  };
}

function setup(options: Partial<PublisherOptions> = {}) {
  const sink = recordingSink();
  const deadLetters = memoryDeadLetters();
  const publisher = createPublisher({ sink, deadLetters, ...options });
  /** Every dead-letter entry of every stream. */
  const letters = async (): Promise<DeadLetterEntry[]> => {
    const all: DeadLetterEntry[] = [];
    for (const { stream } of await deadLetters.streams()) all.push(...(await deadLetters.entries(stream, { count: 10_000 })));
    return all;
  };
  return { sink, deadLetters, publisher, letters };
}

async function refusal(promise: Promise<unknown>, code: PublishErrorCode): Promise<PublishError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PublishError);
  expect((error as PublishError).code).toBe(code);
  return error as PublishError;
}

/** `{ a: { a: ... { leaf: 1 } } }`, `levels` objects deep, built with a loop. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const emitter: PublishContext = { source: "emitter" };

describe("publisher: deeply nested input", () => {
  it("refuses a valid envelope whose payload is nested 20,000 deep as invalid_event, dead-letters it, delivers nothing", async () => {
    const { sink, publisher, letters } = setup();
    const error = await refusal(
      publisher.publish({ type: "roster.player_hired", org_id: 42, payload: nested(20_000) }, emitter),
      "invalid_event",
    );
    expect(error.message).toMatch(/nested deeper than 64 levels/);
    expect(sink.delivered).toEqual([]);
    const [entry, ...more] = await letters();
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ code: "invalid_event", stream: "42:roster.any", orgId: "42", source: "emitter" });
    // The pipeline goes on with the next event.
    await publisher.publish({ type: "roster.player_hired", org_id: 42, payload: nested(62) }, emitter);
    expect(sink.delivered).toHaveLength(1);
  });

  it("refuses a body nested 300,000 deep, parsed (webhook) or as text (legacy), as invalid_event and dead-letters it", async () => {
    const { sink, publisher, letters } = setup();
    // 600 KB, under the size cap: only the depth is wrong.
    const text = `{"type":"roster.player_hired","org_id":42,"payload":{"a":${"[".repeat(300_000)}${"]".repeat(300_000)}}}`;
    await refusal(publisher.publish(JSON.parse(text), { source: "webhook" }), "invalid_event");
    await refusal(publisher.publish(text, { source: "legacy", raw: true, channel: "prostaff:events:42" }), "invalid_event");
    expect(sink.delivered).toEqual([]);
    const entries = await letters();
    expect(entries.map((e) => [e.source, e.code, e.stream])).toEqual([
      ["webhook", "invalid_event", "42:roster.any"],
      ["legacy", "invalid_event", "42:roster.any"],
    ]);
    // JSON.stringify cannot write the parsed one (RangeError): a fixed placeholder, not a crash.
    expect(entries[0]).toMatchObject({ raw: UNSERIALIZABLE_RAW, truncated: false });
    // Text is kept as received, cut at 16 KiB.
    expect(entries[1]).toMatchObject({ raw: text.slice(0, MAX_RAW_BYTES), truncated: true });
  });

  it("accepts 64 levels (the event is level 1, its payload level 2) and refuses 65", async () => {
    const { sink, publisher } = setup();
    await publisher.publish({ type: "player.moved", org_id: 1, payload: nested(63) }, emitter);
    expect(sink.delivered).toHaveLength(1);
    await refusal(publisher.publish({ type: "player.moved", org_id: 1, payload: nested(64) }, emitter), "invalid_event");
  });

  it("dead-letters an event it cannot stringify (a cycle) with the placeholder", async () => {
    const { publisher, letters } = setup();
    const payload: Record<string, unknown> = {};
    payload.self = payload;
    await refusal(publisher.publish({ type: "player.moved", org_id: 1, payload }, emitter), "invalid_event");
    expect(await letters()).toEqual([expect.objectContaining({ raw: UNSERIALIZABLE_RAW, stream: "1:player.any" })]);
  });
});

describe("publisher: size cap", () => {
  it("refuses an SDK event over 1 MiB with payload_too_large and dead-letters it, raw cut at 16 KiB", async () => {
    const { sink, publisher, letters } = setup();
    const event = { type: "roster.player_hired", org_id: 42, payload: { blob: "x".repeat(MAX_EVENT_BYTES) } };
    await refusal(publisher.publish(event, emitter), "payload_too_large");
    expect(sink.delivered).toEqual([]);
    const [entry] = await letters();
    expect(entry).toMatchObject({ code: "payload_too_large", stream: "42:roster.any", truncated: true });
    expect(Buffer.byteLength(entry?.raw ?? "")).toBeLessThanOrEqual(MAX_RAW_BYTES);
    expect(JSON.stringify(event).startsWith(entry?.raw ?? "-")).toBe(true);
  });

  it("refuses text over the cap (the legacy channel) before parsing it; filed under _unknown", async () => {
    const { publisher, letters } = setup();
    const text = JSON.stringify({ type: "roster.player_hired", org_id: 42, payload: { blob: "é".repeat(MAX_EVENT_BYTES / 2) } });
    await refusal(
      publisher.publish(text, { source: "legacy", raw: true, channel: "prostaff:events:42", expectOrgId: "42" }),
      "payload_too_large",
    );
    expect(await letters()).toEqual([expect.objectContaining({ code: "payload_too_large", stream: "_unknown", truncated: true })]);
  });

  it("counts UTF-8 bytes, to the byte, for text and for objects", async () => {
    const maxEventBytes = 200;
    const { sink, publisher } = setup({ maxEventBytes });
    const sized = (bytes: number) => {
      const event = { type: "player.moved", org_id: 1, payload: { name: "" } };
      const filler = bytes - Buffer.byteLength(JSON.stringify(event));
      // Two-byte characters and one ASCII one for an odd remainder.
      event.payload.name = "ß".repeat(Math.floor(filler / 2)) + "x".repeat(filler % 2);
      expect(Buffer.byteLength(JSON.stringify(event))).toBe(bytes);
      return event;
    };
    await publisher.publish(sized(maxEventBytes), emitter);
    await publisher.publish(JSON.stringify(sized(maxEventBytes)), { source: "http", raw: true });
    expect(sink.delivered).toHaveLength(2);
    await refusal(publisher.publish(sized(maxEventBytes + 1), emitter), "payload_too_large");
    await refusal(publisher.publish(JSON.stringify(sized(maxEventBytes + 1)), { source: "http", raw: true }), "payload_too_large");
  });

  it("keeps a 20 KB invalid event cut, marked truncated, and replay refuses it", async () => {
    const { publisher, deadLetters, letters } = setup();
    const event = { type: "tournament_match.confirmed", org_id: 42, payload: { note: "n".repeat(20_000) } };
    await refusal(publisher.publish(event, { source: "http" }), "invalid_event");
    const [entry] = await letters();
    expect(entry).toMatchObject({ stream: "42:tournament_match.confirmed", truncated: true });
    expect(entry?.raw).toHaveLength(MAX_RAW_BYTES);
    const result = await replayDeadLetters(publisher, deadLetters, "42:tournament_match.confirmed", {
      contextOf: () => ({ source: "http" }),
    });
    expect(result).toEqual({ replayed: [], failed: [{ id: entry?.id, error: expect.objectContaining({ code: "truncated" }) }] });
  });
});

describe("publisher: dead-letter streams", () => {
  it.each([
    ["a known type", { type: "tournament_match.confirmed", org_id: 42, payload: {} }, "invalid_event", "42:tournament_match.confirmed"],
    ["a family member", { type: "roster.hired", org_id: "o-1", payload: [] }, "invalid_event", "o-1:roster.any"],
    [
      "an explicit v1",
      { type: "tournament_match.confirmed.v1", org_id: 42, payload: {} },
      "invalid_event",
      "42:tournament_match.confirmed",
    ],
    ["a route's missing field", { type: "notification.created", org_id: 42, payload: {} }, "no_route", "42:notification.created"],
    ["an unknown type", { type: "ticket.sold", org_id: 42, payload: {} }, "unknown_type", "_unknown"],
    ["an unknown version", { type: "notification.created.v7", org_id: 42, user_id: 1, payload: {} }, "unknown_type", "_unknown"],
    ["no org", { type: "roster.hired", payload: {} }, "invalid_event", "_unknown"],
    ["a bad org", { type: "roster.hired", org_id: "a:b", payload: {} }, "invalid_event", "_unknown"],
  ] as const)("files %s under its stream", async (_name, input, code, stream) => {
    const { publisher, letters } = setup();
    await refusal(publisher.publish(input, emitter), code);
    const [entry] = await letters();
    // The entry still names what the input said.
    expect(entry).toMatchObject({ code, stream, type: input.type });
  });

  it("creates no stream per unknown type: any number of them share _unknown", async () => {
    const { publisher, deadLetters } = setup();
    for (let i = 0; i < 50; i++)
      await refusal(publisher.publish({ type: `made.up_${i}`, org_id: i, payload: {} }, emitter), "unknown_type");
    expect(await deadLetters.streams()).toEqual([{ stream: "_unknown", length: 50 }]);
  });

  it("creates one stream per family, whatever members the input names", async () => {
    const { publisher, deadLetters } = setup();
    for (let i = 0; i < 50; i++)
      await refusal(publisher.publish({ type: `roster.made_up_${i}`, org_id: 42, payload: 5 }, emitter), "invalid_event");
    expect(await deadLetters.streams()).toEqual([{ stream: "42:roster.any", length: 50 }]);
  });
});

describe("publisher: the channel's org (property-based)", () => {
  const id = fc.oneof(
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.integer(),
    fc.double(),
    fc.constantFrom("42", "042", "42.0", " 42", "4:2", "*", "42*", "", "a".repeat(129)),
    fc.nat().map(String),
  );

  it("accepts an event only when its normalized org_id equals the channel's org", async () => {
    await fc.assert(
      // Half the time the channel names the same value the event does.
      fc.asyncProperty(id, fc.boolean(), id, async (orgId, same, otherOrg) => {
        const { sink, publisher } = setup();
        const expectOrgId = String(same ? orgId : otherOrg);
        const input = JSON.stringify({ type: "roster.player_hired", org_id: orgId, payload: {} });
        const outcome = await publisher.publish(input, { source: "legacy", raw: true, expectOrgId, deadLetter: false }).then(
          (r) => r,
          (e: unknown) => e as PublishError,
        );
        if (outcome instanceof PublishError) {
          expect(sink.delivered).toEqual([]);
          // Refused only when the org is not a valid id or not the channel's.
          expect(normalizeId(orgId) === expectOrgId, `${outcome.code}: ${outcome.message}`).toBe(false);
          return;
        }
        // Accepted: the org, as the hub normalizes it, is the channel's, and so is every topic.
        const normalized = JSON.parse(input).org_id;
        expect(String(normalized)).toBe(expectOrgId);
        expect(outcome.topics).toEqual([`org:${expectOrgId}`]);
        expect(sink.delivered.flat().map((o) => o.envelope.org_id)).toEqual([expectOrgId]);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses the same event on another org's channel with org_mismatch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), async (a, b) => {
        fc.pre(a !== b);
        const { sink, publisher } = setup();
        const input = JSON.stringify({ type: "roster.player_hired", org_id: a, payload: {} });
        await refusal(publisher.publish(input, { source: "legacy", raw: true, expectOrgId: String(b), deadLetter: false }), "org_mismatch");
        await publisher.publish(input, { source: "legacy", raw: true, expectOrgId: String(a), deadLetter: false });
        expect(sink.delivered.flat().map((o) => o.topic)).toEqual([`org:${a}`]);
      }),
      { numRuns: 300 },
    );
  });
});
