import { describe, expect, it } from "vitest";
import { parseClientEventEntry } from "./client-event.js";

const envelope = {
  id: "01J",
  type: "message:new",
  topic: "chat:c1",
  org_id: "42",
  data: { text: "hi" },
  ts: 1_700_000_000_000,
  sender_id: "7",
  sender_org_id: "42",
};

describe("parseClientEventEntry", () => {
  it("reads the envelope, offset and epoch of an entry the gateways write", () => {
    expect(parseClientEventEntry("chat", "1-0", ["e", JSON.stringify(envelope), "o", "12", "p", "abc"])).toEqual({
      id: "01J",
      topic: "chat:c1",
      org_id: "42",
      event: "message:new",
      data: { text: "hi" },
      sender_id: "7",
      sender_org_id: "42",
      ts: 1_700_000_000_000,
      offset: 12,
      epoch: "abc",
      namespace: "chat",
      streamId: "1-0",
    });
  });

  it.each([
    ["no envelope", ["o", "1", "p", "x"], "missing field"],
    ["no epoch", ["e", JSON.stringify(envelope), "o", "1"], "missing field"],
    ["a bad offset", ["e", JSON.stringify(envelope), "o", "-1", "p", "x"], "offset"],
    ["envelope not JSON", ["e", "{nope", "o", "1", "p", "x"], "not JSON"],
    ["envelope an array", ["e", "[]", "o", "1", "p", "x"], "not a JSON object"],
    ["no sender", ["e", JSON.stringify({ ...envelope, sender_id: undefined }), "o", "1", "p", "x"], "sender_id"],
    ["a string ts", ["e", JSON.stringify({ ...envelope, ts: "now" }), "o", "1", "p", "x"], "ts"],
    ["no data", ["e", JSON.stringify({ ...envelope, data: undefined }), "o", "1", "p", "x"], "no data"],
  ])("refuses an entry with %s, saying why", (_, fields, reason) => {
    const result = parseClientEventEntry("chat", "1-0", fields);
    expect(typeof result).toBe("string");
    expect(result).toContain(reason);
  });
});
