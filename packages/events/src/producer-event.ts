import { type Static, Type } from "@sinclair/typebox";
import { PublishError } from "./hub-error.js";
import { IdLike } from "./schemas/common.js";
import { compile } from "./schemas/compile.js";

/** Domain types: dotted lowercase words with an optional version suffix (`ticket.sold.v2`). */
export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** The envelope every producer hands in, as JSON Schema (the payload is checked per type). */
export const ProducerEnvelopeSchema = Type.Object(
  {
    id: Type.Optional(
      Type.String({ pattern: "^[A-Za-z0-9_.-]{1,128}$", description: "unique id; the same id within 5 minutes is delivered once" }),
    ),
    type: Type.String({
      maxLength: 128,
      pattern: EVENT_TYPE.source,
      description: "versioned domain type, e.g. roster.player_hired or ticket.sold.v2",
    }),
    org_id: IdLike,
    user_id: Type.Optional(Type.Union([IdLike, Type.Null()])),
    payload: Type.Object({}, { additionalProperties: true }),
    published_at: Type.Optional(
      Type.Union([
        Type.Number({ minimum: 0, description: "epoch milliseconds" }),
        Type.String({ format: "date-time", maxLength: 64 }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: true },
);

/** What a producer hands to the hub (emitter SDK, HTTP ingress, legacy channel). */
export type ProducerEvent = Static<typeof ProducerEnvelopeSchema>;

/** A producer event after validation: ids are strings. */
export interface NormalizedEvent {
  id: string | undefined;
  type: string;
  org_id: string;
  user_id: string | undefined;
  payload: Record<string, unknown>;
  /** `published_at` as epoch milliseconds. */
  publishedAt: number | undefined;
}

const envelope = compile(ProducerEnvelopeSchema);

/** Validates the envelope of raw producer input; throws `PublishError("invalid_event")` listing the issues. */
export function parseProducerEvent(raw: unknown): NormalizedEvent {
  if (!envelope.check(raw)) throw new PublishError("invalid_event", "event failed validation", envelope.issues(raw));
  const { id, type, org_id, user_id, payload, published_at } = raw as ProducerEvent;
  return {
    id,
    type,
    org_id: String(org_id),
    user_id: user_id === undefined || user_id === null ? undefined : String(user_id),
    payload: payload as Record<string, unknown>,
    publishedAt: typeof published_at === "string" ? Date.parse(published_at) : (published_at ?? undefined),
  };
}
