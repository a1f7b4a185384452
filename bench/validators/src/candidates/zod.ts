import * as z from "zod";
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

export function zodSchemas() {
  const idString = z.string().regex(ID_SEGMENT, "must match [A-Za-z0-9_.-]{1,128}");
  const idLike = z.union([idString, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]);
  const envelope = z.object({
    id: idString.optional(),
    type: z.string().max(128).regex(EVENT_TYPE, "must be dotted lowercase words"),
    org_id: idLike,
    user_id: idLike.nullable().optional(),
    // An object (not an array); its shape is checked by the payload schema for `type`.
    payload: z.looseObject({}),
  });
  const tournament = z.looseObject({
    tournament_id: idLike,
    id: idLike.optional(),
    status: z.string().optional(),
  });
  const queue = z.looseObject({
    queue: z.looseObject({
      id: z.string(),
      org_id: z.string(),
      status: z.enum(QUEUE_STATUSES),
      capacity: z.number().int().min(1).max(100),
      players: z.array(z.looseObject({ user_id: z.string(), checked_in: z.boolean() })).max(100),
      check_in_deadline: z.number().nullable(),
      version: z.number().int().nonnegative(),
    }),
  });
  return { envelope, payloads: { [TOURNAMENT_MATCH_CONFIRMED]: tournament, [INHOUSE_QUEUE_UPDATED]: queue } };
}

type Mode = "default" | "compiled" | "jitless";

/**
 * - `default`: `safeParse` as the events package uses it today (zod 4 JIT-compiles object shapes with `new Function` when allowed).
 * - `compiled`: the same schemas passed through `z.compile()` (zod 4.6 AOT fast path, also `new Function`).
 * - `jitless`: `safeParse(x, { jitless: true })`, what a browser with a strict CSP (no `unsafe-eval`) gets.
 */
export function zodCandidate(mode: Mode, compile?: typeof z.compile): Candidate {
  // `z.compile` is passed in rather than referenced here, so that bundles of the other modes leave the compiler out.
  if (mode === "compiled" && compile === undefined) throw new Error("compiled mode needs z.compile");
  const schemas = zodSchemas();
  const prep = <T extends z.ZodType>(s: T): T => (compile === undefined ? s : compile(s));
  const envelope = prep(schemas.envelope);
  const payloads = new Map<string, z.ZodType>(Object.entries(schemas.payloads).map(([k, s]) => [k, prep(s)]));
  const params = mode === "jitless" ? { jitless: true } : undefined;

  const firstIssue = (issues: z.core.$ZodIssue[], prefix: string): Outcome => {
    const issue = issues[0] as z.core.$ZodIssue;
    const path = issue.path.join(".");
    return { ok: false, path: prefix === "" ? path : path === "" ? prefix : `${prefix}.${path}`, message: issue.message };
  };

  return {
    name: mode === "default" ? "zod 4 (safeParse)" : mode === "compiled" ? "zod 4 + z.compile()" : "zod 4 jitless (CSP)",
    via:
      mode === "jitless"
        ? "zod safeParse(x, { jitless: true })"
        : mode === "compiled"
          ? "zod z.compile(schema).safeParse"
          : "zod safeParse",
    validate(input) {
      const env = envelope.safeParse(input, params);
      if (!env.success) return firstIssue(env.error.issues, "");
      const payloadSchema = payloads.get(env.data.type);
      if (payloadSchema === undefined) return OK;
      const payload = payloadSchema.safeParse(env.data.payload, params);
      return payload.success ? OK : firstIssue(payload.error.issues, "payload");
    },
    check(input) {
      // zod 4.6 `validate()`: boolean, aborts at the first issue.
      if (!envelope.validate(input, params)) return false;
      const { type, payload } = input as { type: string; payload: unknown };
      const payloadSchema = payloads.get(type);
      return payloadSchema === undefined || payloadSchema.validate(payload, params);
    },
  };
}
