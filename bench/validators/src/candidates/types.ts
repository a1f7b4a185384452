/** One id segment (org, user, topic ids): same as packages/events/src/ids.ts. */
export const ID_SEGMENT = /^[A-Za-z0-9_.-]{1,128}$/;
/** Domain event types: same as packages/events/src/producer-event.ts. */
export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const QUEUE_STATUSES = ["open", "check_in", "in_session", "closed"] as const;

export const TOURNAMENT_MATCH_CONFIRMED = "tournament_match.confirmed";
export const INHOUSE_QUEUE_UPDATED = "inhouse.queue_updated";

/** Result of the full publish-pipeline check: envelope first, then the payload schema registered for `type`. */
export type Outcome = { ok: true } | { ok: false; path: string; message: string };

export const OK: Outcome = Object.freeze({ ok: true });

/** One library wired up the same way: the hot path and a boolean fast reject. */
export interface Candidate {
  /** Row label in the results table. */
  readonly name: string;
  /** Package and entry point actually used. */
  readonly via: string;
  /** Envelope, then payload by type; on failure the first issue's dotted path and message. */
  validate(input: unknown): Outcome;
  /** Same decision, no error details (the cheapest reject the library offers). */
  check(input: unknown): boolean;
}

/** `/payload/queue/players/3` (JSON Pointer, as ajv and TypeBox report) -> `payload.queue.players.3`. */
export function pointerToDotted(pointer: string): string {
  if (pointer === "") return "";
  const parts = pointer.slice(1).split("/");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part.includes("~")) parts[i] = part.replaceAll("~1", "/").replaceAll("~0", "~");
  }
  return parts.join(".");
}

/** Dotted path of a payload issue, relative to the envelope. */
export function payloadPath(path: string): string {
  return path === "" ? "payload" : `payload.${path}`;
}
