import { type Static, Type } from "@sinclair/typebox";
import { PublishError } from "./hub-error.js";
import { IdLike } from "./schemas/common.js";
import { compile } from "./schemas/compile.js";

/** One word of a domain type. */
const TYPE_WORD = "[a-z][a-z0-9_]*";
/** Longest domain type, version suffix included. */
export const MAX_EVENT_TYPE_LENGTH = 128;

/** Domain types: dotted lowercase words with an optional version suffix (`ticket.sold.v2`). */
export const EVENT_TYPE = new RegExp(`^${TYPE_WORD}(\\.${TYPE_WORD})+$`);

/**
 * The pattern of the types of a family (`roster.*` -> `roster.player_hired`, `roster.a.b.v2`): the
 * family's words, then at least one more word, each by the `EVENT_TYPE` rule. With a maximum length
 * of `MAX_EVENT_TYPE_LENGTH`, it accepts exactly the types the hub files under that family.
 */
export function eventFamilyPattern(family: string): string {
  const prefix = family.slice(0, -2);
  if (!family.endsWith(".*") || !EVENT_TYPE.test(`${prefix}.x`)) {
    throw new TypeError(`${family} is not a family of event types (words.*)`);
  }
  return `^${prefix.replaceAll(".", "\\.")}(\\.${TYPE_WORD})+$`;
}

/** The envelope every producer hands in, as JSON Schema (the payload is checked per type). */
export const ProducerEnvelopeSchema = Type.Object(
  {
    id: Type.Optional(
      Type.Union(IdLike.anyOf, { description: "unique id (string or integer); the same id within 5 minutes is delivered once" }),
    ),
    type: Type.String({
      maxLength: MAX_EVENT_TYPE_LENGTH,
      pattern: EVENT_TYPE.source,
      description: "versioned domain type, e.g. roster.player_hired or ticket.sold.v2",
    }),
    org_id: IdLike,
    user_id: Type.Optional(Type.Union([IdLike, Type.Null()])),
    payload: Type.Object({}, { additionalProperties: true }),
    // Informational: an unreadable value is ignored rather than costing the event.
    published_at: Type.Optional(
      Type.Union([
        Type.Number({ minimum: 0, description: "epoch milliseconds, or seconds (values below 1e11)" }),
        Type.String({ maxLength: 64, description: "a date, ISO 8601 preferred" }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: true },
);

/** What a producer hands to the hub (emitter SDK, HTTP ingress, legacy channel). */
export type ProducerEvent = Omit<Static<typeof ProducerEnvelopeSchema>, "payload"> & {
  /** An object; its fields are checked against the schema of the event's type and version. */
  payload: Record<string, unknown>;
};

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
    id: id === undefined ? undefined : String(id),
    type,
    org_id: String(org_id),
    user_id: user_id === undefined || user_id === null ? undefined : String(user_id),
    payload: payload as Record<string, unknown>,
    publishedAt: publishedAtMs(published_at),
  };
}

/** Epoch ms from what producers send: ms, seconds (Ruby's `Time#to_f`), or a date string. */
function publishedAtMs(value: number | string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = typeof value === "string" ? Date.parse(value) : value < 1e11 ? value * 1000 : value;
  return Number.isFinite(ms) ? Math.floor(ms) : undefined;
}
