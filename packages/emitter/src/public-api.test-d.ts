// Type tests of @hub/emitter's public API: checked by `tsc` in `pnpm test` (vitest runs no code of
// this file).
import type { ProducerEvent } from "@hub/events";
import { describe, expectTypeOf, it } from "vitest";
import {
  type ClientEvent,
  type ClientEventConsumer,
  type ClientEventConsumerError,
  createHubEmitter,
  type HubEmitter,
  type PublishResult,
} from "./index.js";

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

  it("consumeClientEvents takes a group and a handler of typed client events, and returns the running consumer", () => {
    const hub = {} as HubEmitter;
    const consumer = hub.consumeClientEvents({
      group: "g",
      handler: async (event) => {
        expectTypeOf(event).toEqualTypeOf<ClientEvent>();
        expectTypeOf(event.offset).toEqualTypeOf<number>();
        expectTypeOf(event.sender_id).toEqualTypeOf<string>();
      },
      onError: (error, event) => {
        expectTypeOf(error).toEqualTypeOf<ClientEventConsumerError>();
        expectTypeOf(error.code).toEqualTypeOf<"handler_failed" | "malformed_entry" | "poison_entry" | "redis_error">();
        expectTypeOf(event).toEqualTypeOf<ClientEvent | undefined>();
      },
    });
    expectTypeOf(consumer).toEqualTypeOf<ClientEventConsumer>();
    expectTypeOf(consumer.closed).toEqualTypeOf<Promise<void>>();
    expectTypeOf(consumer.close()).toEqualTypeOf<Promise<void>>();
    // @ts-expect-error: group is required
    hub.consumeClientEvents({ handler: () => {} });
    // @ts-expect-error: the handler takes one event
    hub.consumeClientEvents({ group: "g", handler: (a: ClientEvent, b: string) => void [a, b] });
  });
});
