/**
 * One durable client publication as a backend consumes it from a client-event stream: the envelope
 * the gateways wrote (entry field `e`) with its offset (`o`) and epoch (`p`) in the topic's history.
 */
export interface ClientEvent<D = unknown> {
  /** The publication id (the client's, or the one the hub gave it); a retried publication keeps it. */
  id: string;
  /** The topic it was published on, e.g. `chat:c1`. */
  topic: string;
  /** The org of the topic's room (the publisher's org). */
  org_id: string;
  /** What subscribers received it as, e.g. `message:new` for a `message:send`. */
  event: string;
  /** The client's `data`, checked against the event's schema by the gateway. */
  data: D;
  /** The publishing user (their token's `sub`), set by the hub. */
  sender_id: string;
  /** The publishing user's org (their token's `org_id`), set by the hub. */
  sender_org_id: string;
  /** Epoch milliseconds at publish. */
  ts: number;
  /** Its offset in the topic's history, as clients got it. */
  offset: number;
  /** The epoch of `offset`. */
  epoch: string;
  /** The namespace whose stream it came from, e.g. `chat`. */
  namespace: string;
  /** The Redis Stream entry id (`<ms>-<seq>`), unique within its bucket stream. */
  streamId: string;
}

/**
 * Reads a client-event stream entry's flat field list (`e`, `o`, `p`). Returns the reason as a
 * string when the entry is not one the gateways write.
 */
export function parseClientEventEntry(namespace: string, streamId: string, fields: readonly string[]): ClientEvent | string {
  const field = (name: string): string | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const raw = field("e");
  const offsetText = field("o");
  const epoch = field("p");
  if (raw === undefined || offsetText === undefined || epoch === undefined || epoch === "") return "missing field e, o or p";
  const offset = Number(offsetText);
  if (!Number.isSafeInteger(offset) || offset < 0) return `offset ${offsetText.slice(0, 32)} is not a non-negative integer`;
  let envelope: unknown;
  try {
    envelope = JSON.parse(raw);
  } catch {
    return "field e is not JSON";
  }
  if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)) return "field e is not a JSON object";
  const e = envelope as Record<string, unknown>;
  for (const name of ["id", "type", "topic", "org_id", "sender_id", "sender_org_id"] as const) {
    if (typeof e[name] !== "string") return `envelope field ${name} is not a string`;
  }
  if (typeof e.ts !== "number") return "envelope field ts is not a number";
  if (!("data" in e)) return "envelope has no data";
  return {
    id: e.id as string,
    topic: e.topic as string,
    org_id: e.org_id as string,
    event: e.type as string,
    data: e.data,
    sender_id: e.sender_id as string,
    sender_org_id: e.sender_org_id as string,
    ts: e.ts,
    offset,
    epoch,
    namespace,
    streamId,
  };
}
