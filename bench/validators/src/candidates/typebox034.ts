import { type TSchema, Type } from "@sinclair/typebox";
import { EVENT_TYPE, ID_SEGMENT, INHOUSE_QUEUE_UPDATED, QUEUE_STATUSES, TOURNAMENT_MATCH_CONFIRMED } from "./types.js";

/** `@sinclair/typebox` 0.34 schemas: plain JSON Schema objects (draft-07 compatible), shared by ajv and TypeCompiler. */
export function typebox034Schemas() {
  const idString = Type.String({ pattern: ID_SEGMENT.source });
  const idLike = Type.Union([idString, Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })]);
  const envelope = Type.Object({
    id: Type.Optional(idString),
    type: Type.String({ maxLength: 128, pattern: EVENT_TYPE.source }),
    org_id: idLike,
    user_id: Type.Optional(Type.Union([idLike, Type.Null()])),
    payload: Type.Object({}),
  });
  const tournament = Type.Object({
    tournament_id: idLike,
    id: Type.Optional(idLike),
    status: Type.Optional(Type.String()),
  });
  const queue = Type.Object({
    queue: Type.Object({
      id: Type.String(),
      org_id: Type.String(),
      status: Type.Union(QUEUE_STATUSES.map((s) => Type.Literal(s))),
      capacity: Type.Integer({ minimum: 1, maximum: 100 }),
      players: Type.Array(Type.Object({ user_id: Type.String(), checked_in: Type.Boolean() }), { maxItems: 100 }),
      check_in_deadline: Type.Union([Type.Number(), Type.Null()]),
      version: Type.Integer({ minimum: 0 }),
    }),
  });
  const payloads: Record<string, TSchema> = { [TOURNAMENT_MATCH_CONFIRMED]: tournament, [INHOUSE_QUEUE_UPDATED]: queue };
  return { envelope, payloads };
}
