import type { Envelope } from "@hub/events";
import { describe, expect, it } from "vitest";
import { buildPayload, PUSHED_ONLY_OFFLINE, parsePending, pushEntryId } from "./push-payload.js";

const notification: Envelope = {
  id: "e-1",
  type: "notification.created",
  topic: "notifications:7",
  org_id: "42",
  data: { notification: { title: "hi" } },
  ts: 1_700_000_000_000,
  offset: 3,
  epoch: "ep",
};

describe("buildPayload", () => {
  it("names the kind, the recipient, the event and its data, id and ts; not the history position", () => {
    expect(buildPayload({ kind: "notification", userId: "7", orgId: "42", envelope: notification, event: "notification.created" })).toEqual(
      {
        kind: "notification",
        id: "e-1",
        user_id: "7",
        org_id: "42",
        topic: "notifications:7",
        event: "notification.created",
        data: { notification: { title: "hi" } },
        ts: 1_700_000_000_000,
      },
    );
  });

  it("names the sender of a client publication", () => {
    const message: Envelope = {
      ...notification,
      topic: "chat:c1",
      type: "message:new",
      data: { text: "yo" },
      sender_id: "alice",
      sender_org_id: "42",
    };
    expect(buildPayload({ kind: "message", userId: "bob", orgId: "42", envelope: message, event: "message:new" })).toMatchObject({
      kind: "message",
      user_id: "bob",
      topic: "chat:c1",
      event: "message:new",
      data: { text: "yo" },
      sender_id: "alice",
    });
  });
});

describe("pushEntryId", () => {
  it("is one per (event, user), and ids holding separators cannot collide", () => {
    expect(pushEntryId({ id: "e", org_id: "1", user_id: "2" })).toBe(pushEntryId({ id: "e", org_id: "1", user_id: "2" }));
    expect(pushEntryId({ id: "e", org_id: "1", user_id: "2" })).not.toBe(pushEntryId({ id: "e", org_id: "1", user_id: "3" }));
    expect(pushEntryId({ id: "a:b", org_id: "c", user_id: "d" })).not.toBe(pushEntryId({ id: "a", org_id: "b:c", user_id: "d" }));
  });
});

describe("parsePending", () => {
  const payload = buildPayload({ kind: "call", userId: "7", orgId: "42", envelope: notification, event: "call.incoming" });

  it("reads what a queue kept", () => {
    const pending = { payload, offeredAt: 5, attempts: 2 };
    expect(parsePending(JSON.stringify(pending))).toEqual(pending);
  });

  it("refuses anything else", () => {
    expect(parsePending("not json")).toBeUndefined();
    expect(parsePending(JSON.stringify({ payload, offeredAt: 5 }))).toBeUndefined();
    expect(parsePending(JSON.stringify({ payload: { ...payload, kind: "spam" }, offeredAt: 5, attempts: 0 }))).toBeUndefined();
  });
});

describe("PUSHED_ONLY_OFFLINE", () => {
  it("checks every kind but chat messages against the user's connections", () => {
    expect([...PUSHED_ONLY_OFFLINE].sort()).toEqual(["call", "call_missed", "huddle_invite", "notification"]);
  });
});
