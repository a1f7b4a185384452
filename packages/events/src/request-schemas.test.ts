import { describe, expect, it } from "vitest";
import { ProtocolError } from "./hub-error.js";
import type { RequestName } from "./protocol.js";
import { isRequestName, parseRequest, REQUEST_SCHEMAS } from "./request-schemas.js";

/** The ProtocolError `parseRequest` throws for `raw`. */
function refusal(event: RequestName, raw: unknown): ProtocolError {
  try {
    parseRequest(event, raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error(`expected ${event} ${JSON.stringify(raw)} to be refused`);
}

const codeOf = (event: RequestName, raw: unknown) => refusal(event, raw).code;

describe("parseRequest: valid requests", () => {
  it.each<[RequestName, unknown]>([
    ["subscribe", { topic: "org:1" }],
    ["subscribe", { topic: "org:1", since: { offset: 0, epoch: "0" } }],
    ["subscribe", { topic: "notifications:7", org_id: "42" }],
    ["unsubscribe", { topic: "org:1" }],
    ["ack", { topic: "notifications:7", offset: 3 }],
    ["ack", { topic: "notifications:7", offset: 3, epoch: "e" }],
    ["presence", { topic: "org:1" }],
    ["auth.refresh", { token: "t" }],
    ["inhouse.join", { queue_id: "evening" }],
    ["inhouse.leave", { queue_id: 7, org_id: 42 }],
    ["inhouse.check_in", { queue_id: "q", org_id: "o" }],
  ])("accepts %s %j and returns it as it came", (event, raw) => {
    expect(parseRequest(event, raw)).toBe(raw);
  });

  it("lets other properties pass: a newer client's field, an inhouse request's user_id", () => {
    expect(parseRequest("inhouse.join", { queue_id: "q", user_id: "someone-else" })).toEqual({ queue_id: "q", user_id: "someone-else" });
    expect(parseRequest("subscribe", { topic: "org:1", since: { offset: 1, epoch: "e", extra: 1 }, hint: true })).toMatchObject({
      topic: "org:1",
    });
  });

  it("leaves the topic's syntax to the registry: an empty or overlong topic passes (invalid_topic there)", () => {
    for (const event of ["subscribe", "presence", "ack"] as const) {
      expect(parseRequest(event, { topic: "", offset: 0 }).topic).toBe("");
      expect(parseRequest(event, { topic: `org:${"x".repeat(300)}`, offset: 0 }).topic).toHaveLength(304);
    }
  });

  it("leaves org_id on topics to the handler: it matters only for a service's per-user topic", () => {
    for (const org_id of [null, {}, "not an id", -1]) {
      expect(parseRequest("subscribe", { topic: "org:1", org_id })).toEqual({ topic: "org:1", org_id });
      expect(parseRequest("presence", { topic: "org:1", org_id })).toEqual({ topic: "org:1", org_id });
    }
  });

  it("takes offsets up to Number.MAX_SAFE_INTEGER and epochs up to 64 characters", () => {
    expect(parseRequest("subscribe", { topic: "org:1", since: { offset: Number.MAX_SAFE_INTEGER, epoch: "e".repeat(64) } })).toBeDefined();
    expect(parseRequest("ack", { topic: "notifications:7", offset: Number.MAX_SAFE_INTEGER })).toBeDefined();
  });
});

describe("parseRequest: malformed requests", () => {
  it.each<[RequestName, unknown]>([
    ["subscribe", undefined],
    ["subscribe", null],
    ["subscribe", "org:o1"],
    ["subscribe", 42],
    ["subscribe", []],
    ["subscribe", { topic: 1 }],
    ["subscribe", { topic: "org:1", since: null }],
    ["subscribe", { topic: "org:1", since: "1" }],
    ["subscribe", { topic: "org:1", since: { offset: -1, epoch: "e" } }],
    ["subscribe", { topic: "org:1", since: { offset: 1.5, epoch: "e" } }],
    ["subscribe", { topic: "org:1", since: { offset: Number.MAX_SAFE_INTEGER + 1, epoch: "e" } }],
    ["subscribe", { topic: "org:1", since: { offset: 1 } }],
    ["subscribe", { topic: "org:1", since: { offset: 1, epoch: 7 } }],
    ["subscribe", { topic: "org:1", since: { offset: 1, epoch: "e".repeat(65) } }],
    ["unsubscribe", { topic: 7 }],
    ["unsubscribe", { topic: "" }],
    ["unsubscribe", {}],
    ["ack", { topic: "notifications:7" }],
    ["ack", { topic: "notifications:7", offset: -1 }],
    ["ack", { topic: "notifications:7", offset: "3" }],
    ["ack", { topic: "notifications:7", offset: 3, epoch: 3 }],
    ["ack", []],
    ["presence", {}],
    ["presence", { topic: 42 }],
    ["presence", ["org:1"]],
    ["auth.refresh", {}],
    ["auth.refresh", { token: 42 }],
    ["auth.refresh", "token"],
    ["inhouse.join", undefined],
    ["inhouse.join", {}],
    ["inhouse.join", { queue_id: "" }],
    ["inhouse.join", { queue_id: "has space" }],
    ["inhouse.join", { queue_id: "a/b" }],
    ["inhouse.join", { queue_id: ["x"] }],
    ["inhouse.leave", { queue_id: -1 }],
    ["inhouse.check_in", { queue_id: "q", org_id: { toString: null } }],
  ])("refuses %s %j with bad_request", (event, raw) => {
    expect(codeOf(event, raw)).toBe("bad_request");
  });

  it("names the event and what is wrong, never the value (auth.refresh carries a token)", () => {
    expect(refusal("subscribe", { topic: "org:1", since: { offset: -1, epoch: "e" } }).message).toMatch(/^subscribe: since\.offset: /);
    expect(refusal("inhouse.join", null).message).toMatch(/^inhouse\.join: \(root\): /);
    expect(refusal("auth.refresh", { token: ["secret-value"] }).message).not.toContain("secret-value");
  });

  it("answers ack on a topic that is not a string invalid_topic, as the registry did, unless something else is wrong too", () => {
    expect(codeOf("ack", { topic: 7, offset: 1 })).toBe("invalid_topic");
    expect(codeOf("ack", { offset: 1 })).toBe("invalid_topic");
    expect(codeOf("ack", { topic: 7, offset: -1 })).toBe("bad_request");
    expect(codeOf("ack", { topic: 7, offset: 1, epoch: 2 })).toBe("bad_request");
    // Only ack: subscribe and presence refuse a topic that is not a string as malformed.
    expect(codeOf("subscribe", { topic: 7 })).toBe("bad_request");
  });
});

describe("isRequestName", () => {
  it("knows every event of the schema table and nothing else, inherited names included", () => {
    for (const event of Object.keys(REQUEST_SCHEMAS)) expect(isRequestName(event)).toBe(true);
    for (const event of ["subscribe_everything", "constructor", "__proto__", "toString", "hasOwnProperty", ""]) {
      expect(isRequestName(event)).toBe(false);
    }
  });
});
