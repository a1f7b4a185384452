import { describe, expect, it } from "vitest";
import { PublishError } from "./hub-error.js";
import { EVENT_TYPE, parseProducerEvent } from "./producer-event.js";

const valid = { type: "roster.player_hired", org_id: "42", payload: { player_id: 1 } };

function invalidEvent(raw: unknown): PublishError {
  try {
    parseProducerEvent(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(PublishError);
    const publishError = error as PublishError;
    expect(publishError.code).toBe("invalid_event");
    return publishError;
  }
  throw new Error("expected a PublishError, nothing was thrown");
}

/** Asserts the event is refused and that some issue names `field`. */
function expectIssueOn(raw: unknown, field: string): PublishError {
  const error = invalidEvent(raw);
  expect(error.issues.some((issue) => issue.startsWith(`${field}: `))).toBe(true);
  return error;
}

describe("parseProducerEvent: valid input", () => {
  it("returns the normalized event", () => {
    expect(parseProducerEvent({ id: "evt-1", type: "notification.created", org_id: "42", user_id: "7", payload: { title: "hi" } })).toEqual(
      { id: "evt-1", type: "notification.created", org_id: "42", user_id: "7", payload: { title: "hi" } },
    );
  });

  it("leaves id and user_id undefined when absent", () => {
    const event = parseProducerEvent(valid);
    expect(event).toEqual({ id: undefined, type: "roster.player_hired", org_id: "42", user_id: undefined, payload: { player_id: 1 } });
  });

  it("treats user_id null as absent", () => {
    expect(parseProducerEvent({ ...valid, user_id: null }).user_id).toBeUndefined();
  });

  it("normalizes integer org_id and user_id to strings", () => {
    const event = parseProducerEvent({ ...valid, org_id: 42, user_id: 7 });
    expect(event.org_id).toBe("42");
    expect(event.user_id).toBe("7");
  });

  it("normalizes 0 and Number.MAX_SAFE_INTEGER", () => {
    expect(parseProducerEvent({ ...valid, org_id: 0, user_id: 0 })).toMatchObject({ org_id: "0", user_id: "0" });
    expect(parseProducerEvent({ ...valid, org_id: Number.MAX_SAFE_INTEGER }).org_id).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it("accepts versioned types", () => {
    expect(parseProducerEvent({ ...valid, type: "ticket.sold.v2" }).type).toBe("ticket.sold.v2");
  });

  it("keeps the payload as given, including nested values", () => {
    const payload = { a: { b: [1, "two", null] }, tournament_id: 7 };
    expect(parseProducerEvent({ ...valid, payload }).payload).toEqual(payload);
  });

  it("accepts an empty payload", () => {
    expect(parseProducerEvent({ ...valid, payload: {} }).payload).toEqual({});
  });

  it("accepts an id of 128 characters", () => {
    const id = "a".repeat(128);
    expect(parseProducerEvent({ ...valid, id }).id).toBe(id);
  });
});

describe("parseProducerEvent: invalid input", () => {
  it.each([[null], [undefined], ["roster.player_hired"], [42], [[valid]]])("refuses the non-object %j", (raw) => {
    const error = invalidEvent(raw);
    expect(error.issues.length).toBeGreaterThan(0);
  });

  it.each([
    ["missing", undefined],
    ["a number", 1],
    ["empty", ""],
    ["without a dot", "roster"],
    ["uppercase", "Roster.Player_Hired"],
    ["starting with a digit", "1roster.hired"],
    ["with a trailing dot", "roster."],
    ["with a leading dot", ".roster.hired"],
    ["with a dash", "roster.player-hired"],
    ["with a space", "roster.player hired"],
    ["longer than 128 characters", `roster.${"a".repeat(125)}`],
  ])("type %s", (_label, type) => {
    expectIssueOn({ ...valid, type }, "type");
  });

  it("accepts a type of exactly 128 characters", () => {
    const type = `roster.${"a".repeat(121)}`;
    expect(type).toHaveLength(128);
    expect(parseProducerEvent({ ...valid, type }).type).toBe(type);
  });

  it.each([
    ["missing", undefined],
    ["null", null],
    ["empty", ""],
    ["negative", -1],
    ["fractional", 1.5],
    ["unsafe integer", Number.MAX_SAFE_INTEGER + 1],
    ["NaN", Number.NaN],
    ["with a colon", "42:team"],
    ["with a space", "4 2"],
    ["longer than 128 characters", "a".repeat(129)],
    ["an object", { id: 42 }],
    ["a boolean", true],
  ])("org_id %s", (_label, orgId) => {
    expectIssueOn({ ...valid, org_id: orgId }, "org_id");
  });

  it.each([
    ["empty", ""],
    ["negative", -7],
    ["fractional", 7.5],
    ["with a slash", "7/8"],
    ["an array", [7]],
  ])("user_id %s", (_label, userId) => {
    expectIssueOn({ ...valid, user_id: userId }, "user_id");
  });

  it("accepts an integer id (Rails sends integers) as its string", () => {
    expect(parseProducerEvent({ ...valid, id: 12 }).id).toBe("12");
  });

  it.each([
    ["empty", ""],
    ["a negative number", -12],
    ["fractional", 1.5],
    ["with a colon", "evt:1"],
    ["longer than 128 characters", "e".repeat(129)],
  ])("id %s", (_label, id) => {
    expectIssueOn({ ...valid, id }, "id");
  });

  it.each([
    ["missing", undefined],
    ["null", null],
    ["a string", "hello"],
    ["an array", [1, 2]],
    ["a number", 3],
  ])("payload %s", (_label, payload) => {
    expectIssueOn({ ...valid, payload }, "payload");
  });

  it("lists every bad field, not just the first", () => {
    const error = invalidEvent({ id: "a b", type: "Bad", org_id: -1, user_id: "", payload: "x" });
    const fields = error.issues.map((issue) => issue.split(":")[0]);
    expect(new Set(fields)).toEqual(new Set(["id", "type", "org_id", "user_id", "payload"]));
  });

  it("does not name valid fields", () => {
    const error = invalidEvent({ ...valid, org_id: -1 });
    expect(error.issues.every((issue) => issue.startsWith("org_id: "))).toBe(true);
  });

  it("serializes with its code and issues", () => {
    const error = invalidEvent({ ...valid, type: "bad" });
    expect(error.toJSON()).toEqual({ code: "invalid_event", message: error.message, issues: error.issues });
  });
});

describe("EVENT_TYPE", () => {
  it.each([["a.b"], ["tournament_match.confirmed"], ["ticket.sold.v2"], ["a1.b2.c3"]])("matches %s", (type) => {
    expect(EVENT_TYPE.test(type)).toBe(true);
  });

  it.each([["a"], ["a..b"], ["a.B"], ["a.1b"], ["_a.b"]])("does not match %s", (type) => {
    expect(EVENT_TYPE.test(type)).toBe(false);
  });
});
