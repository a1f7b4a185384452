// Type tests of @hub/client's public API: checked by `tsc` in `pnpm test` (vitest runs no code of
// this file). A change that loosens or breaks a type a user writes against fails the typecheck.
import type { Envelope, MatchData, PresenceMember, SubscribeOk } from "@hub/events";
import { describe, expectTypeOf, it } from "vitest";
import { connectHub, type Hub, type HubError, type HubErrorCode, type SubscribeHandlers } from "./index.js";
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
    expectTypeOf<"invalid_json">().not.toExtend<HubErrorCode>();
  });
});
