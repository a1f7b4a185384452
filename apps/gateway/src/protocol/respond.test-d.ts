// Type tests of the request handler table: checked by `tsc` in `pnpm test` (vitest runs no code of
// this file). The gateway's table (gateway.ts) `satisfies RequestHandlers`, so what holds here holds
// for it: each handler answers the reply the client SDK's `request` resolves with (`ReplyOf`).
import type { ReplyOf, RequestName, RequestOf } from "@hub/events";
import { describe, expectTypeOf, it } from "vitest";
import type { RequestHandler, RequestHandlers } from "./respond.js";

/** A handler of the right type for `E`, for tables built here. */
const stub =
  <E extends RequestName>(): RequestHandler<E> =>
  () =>
    ({}) as ReplyOf<E>;

const table = {
  subscribe: stub<"subscribe">(),
  unsubscribe: stub<"unsubscribe">(),
  "auth.refresh": stub<"auth.refresh">(),
  ack: stub<"ack">(),
  presence: stub<"presence">(),
  "presence.update": stub<"presence.update">(),
  "inhouse.join": stub<"inhouse.join">(),
  "inhouse.leave": stub<"inhouse.leave">(),
  "inhouse.check_in": stub<"inhouse.check_in">(),
  publish: stub<"publish">(),
  "call:initiate": stub<"call:initiate">(),
  "call:answer": stub<"call:answer">(),
  "call:reject": stub<"call:reject">(),
  "call:end": stub<"call:end">(),
  "webrtc:offer": stub<"webrtc:offer">(),
  "webrtc:answer": stub<"webrtc:answer">(),
  "webrtc:ice-candidate": stub<"webrtc:ice-candidate">(),
  "call:toggle-audio": stub<"call:toggle-audio">(),
  "call:toggle-video": stub<"call:toggle-video">(),
  "huddle:create": stub<"huddle:create">(),
  "huddle:join": stub<"huddle:join">(),
  "huddle:leave": stub<"huddle:leave">(),
  "huddle:toggle-audio": stub<"huddle:toggle-audio">(),
  "huddle:toggle-video": stub<"huddle:toggle-video">(),
  "huddle:toggle-screen": stub<"huddle:toggle-screen">(),
  "huddle:raise-hand": stub<"huddle:raise-hand">(),
  "huddle:message": stub<"huddle:message">(),
  "huddle:invite": stub<"huddle:invite">(),
} satisfies RequestHandlers;

describe("request handler table", () => {
  it("answers each request with the client SDK's ReplyOf", () => {
    type Replies = { [E in RequestName]: Awaited<ReturnType<RequestHandlers[E]>> };
    expectTypeOf<Replies>().toEqualTypeOf<{ [E in RequestName]: ReplyOf<E> }>();
  });

  it("hands each handler its request as its schema types it", () => {
    type Requests = { [E in RequestName]: Parameters<RequestHandlers[E]>[1] };
    expectTypeOf<Requests>().toEqualTypeOf<{ [E in RequestName]: RequestOf<E> }>();
  });

  it("does not compile with a handler missing, one too many, or one of the wrong type", () => {
    const { "inhouse.check_in": _checkIn, ...missing } = table;
    // @ts-expect-error: no handler for inhouse.check_in
    missing satisfies RequestHandlers;
    // @ts-expect-error: not an event of ClientToServerEvents
    ({ ...table, subscribe_everything: stub<"subscribe">() }) satisfies RequestHandlers;
    // @ts-expect-error: ack answers { ok, topic, offset }
    ({ ...table, ack: async () => ({ ok: true as const, topic: "notifications:1" }) }) satisfies RequestHandlers;
    const presence = (_socket: unknown, _request: { topic: number }) => ({}) as ReplyOf<"presence">;
    // @ts-expect-error: a presence request's topic is a string
    ({ ...table, presence }) satisfies RequestHandlers;
  });
});
