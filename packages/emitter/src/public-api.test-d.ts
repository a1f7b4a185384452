// Type tests of @hub/emitter's public API: checked by `tsc` in `pnpm test` (vitest runs no code of
// this file).
import type { ProducerEvent } from "@hub/events";
import { describe, expectTypeOf, it } from "vitest";
import { createHubEmitter, type HubEmitter, type PublishResult } from "./index.js";

describe("@hub/emitter types", () => {
  it("publish takes a producer event and resolves with its result", () => {
    const hub = {} as HubEmitter;
    expectTypeOf(hub.publish).parameter(0).toEqualTypeOf<ProducerEvent>();
    expectTypeOf(hub.publish({ type: "roster.player_hired", org_id: 42, payload: { player_id: 7 } })).toEqualTypeOf<
      Promise<PublishResult>
    >();
    expectTypeOf(hub.publishMany([])).toEqualTypeOf<Promise<PublishResult[]>>();
    // @ts-expect-error: type is required
    void hub.publish({ org_id: 42, payload: {} });
    // @ts-expect-error: payload is an object
    void hub.publish({ type: "roster.player_hired", org_id: 42, payload: "x" });
    expectTypeOf(createHubEmitter).returns.toEqualTypeOf<HubEmitter>();
  });
});
