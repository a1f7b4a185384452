import * as v from "valibot";
import {
  type Candidate,
  EVENT_TYPE,
  ID_SEGMENT,
  INHOUSE_QUEUE_UPDATED,
  OK,
  type Outcome,
  QUEUE_STATUSES,
  TOURNAMENT_MATCH_CONFIRMED,
} from "./types.js";

const isPlainObject = (value: unknown): boolean => typeof value === "object" && value !== null && !Array.isArray(value);

export function valibotSchemas() {
  const idString = v.pipe(v.string(), v.regex(ID_SEGMENT, "must match [A-Za-z0-9_.-]{1,128}"));
  const idLike = v.union([idString, v.pipe(v.number(), v.safeInteger(), v.minValue(0))]);
  const envelope = v.object({
    id: v.optional(idString),
    type: v.pipe(v.string(), v.maxLength(128), v.regex(EVENT_TYPE, "must be dotted lowercase words")),
    org_id: idLike,
    user_id: v.optional(v.nullable(idLike)),
    // valibot's object schemas accept arrays (`typeof input === "object"`) and turn them into `{}`; JSON Schema `type: object` does not.
    payload: v.custom<Record<string, unknown>>(isPlainObject, "must be an object"),
  });
  const tournament = v.looseObject({
    tournament_id: idLike,
    id: v.optional(idLike),
    status: v.optional(v.string()),
  });
  const queue = v.looseObject({
    queue: v.looseObject({
      id: v.string(),
      org_id: v.string(),
      status: v.picklist(QUEUE_STATUSES),
      capacity: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
      players: v.pipe(v.array(v.looseObject({ user_id: v.string(), checked_in: v.boolean() })), v.maxLength(100)),
      check_in_deadline: v.nullable(v.number()),
      version: v.pipe(v.number(), v.integer(), v.minValue(0)),
    }),
  });
  return { envelope, payloads: { [TOURNAMENT_MATCH_CONFIRMED]: tournament, [INHOUSE_QUEUE_UPDATED]: queue } };
}

type AnySchema = v.GenericSchema;

/** valibot 1.x `safeParse` with `abortEarly: true` (only the first issue is needed). */
export function valibotCandidate(): Candidate {
  const schemas = valibotSchemas();
  const envelope = schemas.envelope;
  const payloads = new Map<string, AnySchema>(Object.entries(schemas.payloads));
  const config = { abortEarly: true } as const;

  const firstIssue = (issues: readonly v.BaseIssue<unknown>[], inPayload: boolean): Outcome => {
    const issue = issues[0] as v.BaseIssue<unknown>;
    const path = v.getDotPath(issue) ?? "";
    return { ok: false, path: inPayload ? (path === "" ? "payload" : `payload.${path}`) : path, message: issue.message };
  };

  return {
    name: "valibot 1.x",
    via: "valibot safeParse({ abortEarly: true })",
    validate(input) {
      const env = v.safeParse(envelope, input, config);
      if (!env.success) return firstIssue(env.issues, false);
      const payloadSchema = payloads.get(env.output.type);
      if (payloadSchema === undefined) return OK;
      const payload = v.safeParse(payloadSchema, env.output.payload, config);
      return payload.success ? OK : firstIssue(payload.issues, true);
    },
    check(input) {
      if (!v.is(envelope, input)) return false;
      const payloadSchema = payloads.get(input.type);
      return payloadSchema === undefined || v.is(payloadSchema, input.payload);
    },
  };
}
