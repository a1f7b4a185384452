import { z } from "zod";
import { PublishError } from "./hub-error.js";
import { ID_SEGMENT } from "./ids.js";

/** Domain types: dotted lowercase words with an optional version suffix (`ticket.sold.v2`). */
export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** What a producer hands to the hub (emitter SDK, HTTP ingress, legacy channel). */
export interface ProducerEvent {
  /** Unique id; publishing the same id twice within the dedupe window delivers it once. */
  id?: string;
  type: string;
  org_id: string | number;
  /** Recipient, for per-user events such as `notification.created`. */
  user_id?: string | number | null;
  payload: Record<string, unknown>;
}

/** A producer event after validation: ids are strings. */
export interface NormalizedEvent {
  id: string | undefined;
  type: string;
  org_id: string;
  user_id: string | undefined;
  payload: Record<string, unknown>;
}

const idLike = z.union([
  z.string().regex(ID_SEGMENT, "must match [A-Za-z0-9_.-]{1,128}"),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
]);

const producerEventSchema = z.object({
  id: z.string().regex(ID_SEGMENT, "must match [A-Za-z0-9_.-]{1,128}").optional(),
  type: z.string().max(128).regex(EVENT_TYPE, "must be dotted lowercase words, e.g. roster.player_hired or ticket.sold.v2"),
  org_id: idLike,
  user_id: idLike.nullable().optional(),
  payload: z.record(z.string(), z.unknown()),
});

/** Validates raw producer input; throws `PublishError("invalid_event")` listing every issue. */
export function parseProducerEvent(raw: unknown): NormalizedEvent {
  const result = producerEventSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new PublishError("invalid_event", "event failed validation", issues);
  }
  const { id, type, org_id, user_id, payload } = result.data;
  return {
    id,
    type,
    org_id: String(org_id),
    user_id: user_id === undefined || user_id === null ? undefined : String(user_id),
    payload,
  };
}
