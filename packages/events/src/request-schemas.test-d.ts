// Type tests of the request schemas: checked by `tsc` in `pnpm test` (vitest runs no code of this
// file). Each request type a typed client sends must pass its schema, or a client built against
// ClientToServerEvents would send requests the gateway refuses.
import { describe, expectTypeOf, it } from "vitest";
import type { AckRequest, AuthRefreshRequest, PayloadOf, RequestName } from "./protocol.js";
import type { RequestOf } from "./request-schemas.js";

describe("request schemas", () => {
  it("accept every request a typed client can send", () => {
    type Accepted = { [E in RequestName]: PayloadOf<E> extends RequestOf<E> ? true : false };
    expectTypeOf<Accepted>().toEqualTypeOf<{ [E in RequestName]: true }>();
  });

  it("are the request types where the wire takes nothing more", () => {
    expectTypeOf<RequestOf<"ack">>().toEqualTypeOf<AckRequest>();
    expectTypeOf<RequestOf<"auth.refresh">>().toEqualTypeOf<AuthRefreshRequest>();
  });

  it("take what the wire takes beyond the client types: integer ids, a service's org_id", () => {
    expectTypeOf<RequestOf<"inhouse.join">>().toEqualTypeOf<{ queue_id: string | number; org_id?: string | number }>();
    expectTypeOf<RequestOf<"subscribe">>().toEqualTypeOf<{
      topic: string;
      since?: { offset: number; epoch: string };
      org_id?: unknown;
      token?: string;
    }>();
    expectTypeOf<RequestOf<"presence">>().toEqualTypeOf<{ topic: string; org_id?: unknown }>();
  });
});
