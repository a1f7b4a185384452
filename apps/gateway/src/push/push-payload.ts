import type { Envelope } from "@hub/events";

/** What a push is about (docs/protocol.md "Push hook for offline users"). */
export type PushKind = "notification" | "message" | "call" | "call_missed" | "huddle_invite";

export const PUSH_KINDS: readonly PushKind[] = ["notification", "message", "call", "call_missed", "huddle_invite"];

/**
 * Kinds pushed only while the user has no connected socket anywhere in the cluster, checked when
 * the push is sent. A `message` is offered to the conversation's members not on it at publication
 * time: a user connected elsewhere, but not on that conversation, is still told.
 */
export const PUSHED_ONLY_OFFLINE: ReadonlySet<PushKind> = new Set(["notification", "call", "call_missed", "huddle_invite"]);

/** What a source offers: an event for one user. */
export interface PushCandidate {
  kind: PushKind;
  /** The recipient. */
  userId: string;
  orgId: string;
  /** The delivered envelope: its `id`, `topic`, `data`, `ts` (and `sender_id`) go into the push. */
  envelope: Envelope;
  /** The client event it was delivered as (`notification.created`, `message:new`, `call.incoming`...). */
  event: string;
}

/** The JSON body POSTed to `PUSH_WEBHOOK_URL`. */
export interface PushPayload {
  kind: PushKind;
  /** The event's id: with `user_id`, what a receiver deduplicates by (delivery is at least once). */
  id: string;
  user_id: string;
  org_id: string;
  topic: string;
  event: string;
  data: unknown;
  /** When the hub accepted the event (epoch ms). */
  ts: number;
  /** The user who published it, for client publications (a chat message). */
  sender_id?: string;
}

/**
 * The body of the push of a candidate.
 *
 * @example
 * buildPayload({ kind: "notification", userId: "7", orgId: "42", envelope, event: "notification.created" });
 * // { kind: "notification", id: envelope.id, user_id: "7", org_id: "42", topic: "notifications:7", ... }
 */
export function buildPayload({ kind, userId, orgId, envelope, event }: PushCandidate): PushPayload {
  return {
    kind,
    id: envelope.id,
    user_id: userId,
    org_id: orgId,
    topic: envelope.topic,
    event,
    data: envelope.data,
    ts: envelope.ts,
    ...(envelope.sender_id === undefined ? {} : { sender_id: envelope.sender_id }),
  };
}

/** Identifies a push: its event and its recipient (the dedupe key). Unambiguous whatever the ids hold. */
export function pushEntryId(payload: Pick<PushPayload, "id" | "org_id" | "user_id">): string {
  return JSON.stringify([payload.id, payload.org_id, payload.user_id]);
}

/** A push waiting to be sent, as the queue keeps it. */
export interface PendingPush {
  payload: PushPayload;
  /** When it was offered (epoch ms): it is given up `PUSH_MAX_AGE_MS` after. */
  offeredAt: number;
  /** Attempts that failed so far. */
  attempts: number;
}

/** Reads a pending push kept by a queue; undefined for anything unreadable (it came through Redis). */
export function parsePending(text: string): PendingPush | undefined {
  try {
    const value = JSON.parse(text) as Partial<PendingPush>;
    const payload = value.payload as Partial<PushPayload> | undefined;
    if (typeof value.offeredAt !== "number" || typeof value.attempts !== "number" || typeof payload !== "object" || payload === null) {
      return undefined;
    }
    if (typeof payload.id !== "string" || typeof payload.user_id !== "string" || typeof payload.org_id !== "string") return undefined;
    if (!PUSH_KINDS.includes(payload.kind as PushKind)) return undefined;
    return value as PendingPush;
  } catch {
    return undefined;
  }
}
