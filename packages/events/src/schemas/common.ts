import { type TSchema, Type } from "@sinclair/typebox";

/** An id as producers send it: a string of id characters, or a non-negative integer (Rails). */
export const IdLike = Type.Union([
  Type.String({ pattern: "^[A-Za-z0-9_.-]{1,128}$" }),
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
]);

/** Marks a property as sensitive: removed before fan-out, never logged or kept in the dead-letter queue. */
export function Sensitive<T extends TSchema>(schema: T): T {
  return { ...schema, "x-sensitive": true };
}

/** A payload object: the listed properties are checked, others pass through (additive evolution). */
export const Payload = <P extends Parameters<typeof Type.Object>[0]>(properties: P) =>
  Type.Object(properties, { additionalProperties: true });

/** An inhouse queue as the worker publishes it (docs/protocol.md "Inhouse queues"). */
export const QueueSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 128 }),
    org_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    status: Type.Union([Type.Literal("open"), Type.Literal("check_in"), Type.Literal("in_session"), Type.Literal("closed")]),
    capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    players: Type.Array(Type.Object({ user_id: Type.String(), checked_in: Type.Boolean() }, { additionalProperties: true }), {
      maxItems: 100,
    }),
    check_in_deadline: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
    version: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: true },
);
