import type { TSchema } from "typebox";
import * as Type from "typebox";
import { Compile, type Validator } from "typebox/compile";
import { Settings } from "typebox/system";
import {
  type Candidate,
  EVENT_TYPE,
  ID_SEGMENT,
  INHOUSE_QUEUE_UPDATED,
  OK,
  type Outcome,
  payloadPath,
  pointerToDotted,
  QUEUE_STATUSES,
  TOURNAMENT_MATCH_CONFIRMED,
} from "./types.js";

export function typebox1Schemas() {
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

/**
 * TypeBox 1.x (`typebox` package, the current line): `Compile` from "typebox/compile".
 * With `acceleration: false` the validators are built with `useAcceleration: false`: TypeBox's interpreted
 * checker, which is also what it falls back to by itself where `new Function` is blocked (CSP without `unsafe-eval`).
 */
export function typebox1Candidate({ acceleration }: { acceleration: boolean }): Candidate {
  // Only the first error is needed; the default buffers up to 8.
  Settings.Set({ maxErrors: 1, useAcceleration: acceleration });
  const schemas = typebox1Schemas();
  const envelope = Compile(schemas.envelope);
  const payloads = new Map<string, Validator>(Object.entries(schemas.payloads).map(([k, s]) => [k, Compile(s) as Validator]));
  Settings.Set({ useAcceleration: true });

  const firstError = (validator: Validator, value: unknown, inPayload: boolean): Outcome => {
    const error = validator.Errors(value)[0];
    if (error === undefined) return { ok: false, path: "", message: "invalid" };
    let path = pointerToDotted(error.instancePath);
    if (error.keyword === "required") {
      const missing = (error.params as { requiredProperties: string[] }).requiredProperties[0] ?? "";
      path = path === "" ? missing : `${path}.${missing}`;
    }
    return { ok: false, path: inPayload ? payloadPath(path) : path, message: error.message };
  };

  return {
    name: acceleration ? "TypeBox 1.x Compile" : "TypeBox 1.x Compile, no eval (CSP)",
    via: acceleration ? "typebox/compile Compile" : "typebox/compile Compile with useAcceleration: false",
    validate(input) {
      if (!envelope.Check(input)) return firstError(envelope, input, false);
      const validator = payloads.get(input.type);
      if (validator === undefined || validator.Check(input.payload)) return OK;
      return firstError(validator, input.payload, true);
    },
    check(input) {
      if (!envelope.Check(input)) return false;
      const validator = payloads.get(input.type);
      return validator === undefined || validator.Check(input.payload);
    },
  };
}
