// Type tests of @hub/client's public API: checked by `tsc` in `pnpm test` (vitest runs no code of
// this file). A change that loosens or breaks a type a user writes against fails the typecheck.
import type { Envelope, MatchData, MessageRef, PresenceChange, PresenceMember, SubscribeOk } from "@hub/events";
import { describe, expectTypeOf, it } from "vitest";
import {
  type CallStarted,
  connectHub,
  type Hub,
  type HubError,
  type HubErrorCode,
  type HuddleCreated,
  type HuddleMember,
  type PublishOk,
  type PublishOptions,
  type SubscribeHandlers,
  type TypingIndicator,
} from "./index.js";
import type { PayloadOf, ReplyOf } from "./request.js";

describe("@hub/client types", () => {
  it("connectHub takes a token or a token source, never both, and returns a Hub", () => {
    expectTypeOf(connectHub({ url: "http://hub", token: "t" })).toEqualTypeOf<Hub>();
    expectTypeOf(connectHub({ url: "http://hub", getToken: async () => "t" })).toEqualTypeOf<Hub>();
    // @ts-expect-error: token and getToken are exclusive
    connectHub({ url: "http://hub", token: "t", getToken: () => "t" });
    // @ts-expect-error: one of them is required
    connectHub({ url: "http://hub" });
  });

  it("onEvent narrows the envelope by event name", () => {
    const handlers: SubscribeHandlers = {
      onEvent: (event, envelope) => {
        if (event === "match_confirmed") expectTypeOf(envelope).toEqualTypeOf<Envelope<MatchData>>();
        // @ts-expect-error: not a client event
        if (event === "resync") return;
      },
    };
    expectTypeOf(handlers.onError).toEqualTypeOf<((error: HubError) => void) | undefined>();
  });

  it("chat events are client events: message:new narrows to its data, with sender_id; a subscription token is a string or a source", () => {
    const handlers: SubscribeHandlers = {
      token: () => Promise.resolve("grant"),
      onEvent: (event, envelope) => {
        if (event === "message:new") {
          expectTypeOf(envelope.data.text).toEqualTypeOf<string | undefined>();
          expectTypeOf(envelope.sender_id).toEqualTypeOf<string | undefined>();
        }
        if (event === "message:edited") expectTypeOf(envelope.data).toEqualTypeOf<MessageRef & { text: string }>();
        if (event === "user:online") expectTypeOf(envelope).toEqualTypeOf<Envelope<PresenceChange>>();
        if (event === "typing:start") expectTypeOf(envelope.data).toEqualTypeOf<Record<string, never>>();
      },
    };
    expectTypeOf(handlers.token).toEqualTypeOf<string | (() => string | Promise<string>) | undefined>();
    // @ts-expect-error: a token is a string, not a claims object
    const bad: SubscribeHandlers = { token: { topic: "chat:c1" }, onEvent: () => {} };
    void bad;
  });

  it("publish resolves with the ack; typing returns its indicator", () => {
    const hub = {} as Hub;
    expectTypeOf(hub.publish("chat:c1", "message:send", { text: "hi" })).toEqualTypeOf<Promise<PublishOk>>();
    expectTypeOf(hub.publish("chat:c1", "message:send", { text: "hi" }, { id: "m1", token: "grant" })).toEqualTypeOf<Promise<PublishOk>>();
    expectTypeOf<PublishOk["duplicate"]>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<PublishOptions>().toEqualTypeOf<{ id?: string; token?: string }>();
    // @ts-expect-error: data is a JSON object
    void hub.publish("chat:c1", "message:send", "hi");
    const indicator = hub.typing("chat:c1", { throttleMs: 3000, idleMs: 5000 });
    expectTypeOf(indicator).toEqualTypeOf<TypingIndicator>();
    expectTypeOf(indicator.start).toEqualTypeOf<() => void>();
    expectTypeOf(connectHub({ url: "http://hub", token: "t", publishTimeoutMs: 30_000 })).toEqualTypeOf<Hub>();
  });

  it("requests resolve with their reply type", () => {
    const hub = {} as Hub;
    expectTypeOf(hub.presence("org:1")).toEqualTypeOf<Promise<PresenceMember[]>>();
    expectTypeOf(hub.ack("notifications:1", 3)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(hub.inhouse.join("q1")).toEqualTypeOf<Promise<string>>();
    expectTypeOf<ReplyOf<"subscribe">>().toEqualTypeOf<SubscribeOk>();
    expectTypeOf<PayloadOf<"inhouse.join">>().toEqualTypeOf<{ queue_id: string }>();
  });

  it("error codes are the table's protocol codes plus the SDK's own", () => {
    expectTypeOf<"rate_limited">().toExtend<HubErrorCode>();
    expectTypeOf<"timeout">().toExtend<HubErrorCode>();
    expectTypeOf<"unknown_event">().toExtend<HubErrorCode>();
    expectTypeOf<HubError["retryAfterMs"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<"invalid_json">().not.toExtend<HubErrorCode>();
  });

  it("hub.calls: requests resolve with their results, listeners are typed by name and return their remover", () => {
    const hub = {} as Hub;
    expectTypeOf(hub.calls.initiate("bob", { media: "video" })).toEqualTypeOf<Promise<CallStarted>>();
    expectTypeOf<CallStarted>().toEqualTypeOf<{ callId: string; busy: boolean }>();
    expectTypeOf(hub.calls.initiate("bob", { media: "audio", callId: "c1" })).toEqualTypeOf<Promise<CallStarted>>();
    // @ts-expect-error: media is audio or video
    void hub.calls.initiate("bob", { media: "screen" });
    expectTypeOf(hub.calls.answer("c1")).toEqualTypeOf<Promise<void>>();
    expectTypeOf(hub.calls.toggleVideo).toEqualTypeOf<(callId: string, enabled: boolean) => Promise<void>>();
    expectTypeOf(hub.calls.signal.iceCandidate("c1", { candidate: "x" })).toEqualTypeOf<Promise<void>>();
    const off = hub.calls.on("incoming", (data, envelope) => {
      expectTypeOf(data).toEqualTypeOf<{ call_id: string; from: string; media: "audio" | "video" }>();
      expectTypeOf(envelope.data.from).toEqualTypeOf<string>();
    });
    expectTypeOf(off).toEqualTypeOf<() => void>();
    hub.calls.on("ended", (data) => expectTypeOf(data.reason).toEqualTypeOf<"hangup" | "disconnected" | "max_duration">());
    hub.calls.on("ice-candidate", (data) => expectTypeOf(data.candidate).toEqualTypeOf<unknown>());
    hub.calls.on("toggle-audio", (data) => expectTypeOf(data.enabled).toEqualTypeOf<boolean>());
    // @ts-expect-error: not a call event
    hub.calls.on("call:incoming", () => {});
    expectTypeOf(connectHub({ url: "http://hub", getToken: () => "t", userId: "ann" })).toEqualTypeOf<Hub>();
  });

  it("hub.huddles: create, join with the participants, typed listeners", () => {
    const hub = {} as Hub;
    expectTypeOf(hub.huddles.create("c1", { max: 5 })).toEqualTypeOf<Promise<HuddleCreated>>();
    expectTypeOf(hub.huddles.join("h1")).toEqualTypeOf<Promise<HuddleMember[]>>();
    expectTypeOf(hub.huddles.toggleScreen("h1", true)).toEqualTypeOf<Promise<void>>();
    expectTypeOf(hub.huddles.invite("h1", ["bob"])).toEqualTypeOf<Promise<void>>();
    // @ts-expect-error: invite takes a list of user ids
    void hub.huddles.invite("h1", "bob");
    hub.huddles.on("huddle:participant:updated", (data) => expectTypeOf(data.participant).toEqualTypeOf<HuddleMember>());
    hub.huddles.on("huddle:message:new", (data) => expectTypeOf(data.text).toEqualTypeOf<string>());
    hub.huddles.on("huddle:invited", (data) => expectTypeOf(data.by).toEqualTypeOf<string | null>());
    // @ts-expect-error: not a huddle event
    hub.huddles.on("message:new", () => {});
    expectTypeOf<"huddle_full">().toExtend<HubErrorCode>();
    expectTypeOf<"screen_share_taken">().toExtend<HubErrorCode>();
  });
});
