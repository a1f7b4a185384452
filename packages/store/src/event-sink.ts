import type { Envelope, HistoryPolicy } from "@hub/events";

/** One envelope on its way to the sockets of one topic. */
export interface Outgoing {
  /**
   * The topic's room (`roomOf`): where it is broadcast and its history kept. The topic itself,
   * except for per-user topics, whose room is scoped by org; the envelope carries the topic.
   */
  topic: string;
  clientEvent: string;
  envelope: Envelope;
  /** The topic's history window, when its namespace keeps one: the sink adds `offset` and `epoch`. */
  history?: HistoryPolicy;
}

/** What identifies an event for deduplication: its id within its org. */
export interface EventKey {
  orgId: string;
  id: string;
}

/** A durable client publication on its way to its topic (docs/protocol.md "Client publications"). */
export interface ClientPublication {
  /** The topic's room (`roomOf`): a namespace with durable client events gives it a stream bucket. */
  room: string;
  clientEvent: string;
  /** With `sender_id` and `sender_org_id` set; the sink adds `offset` and `epoch`. */
  envelope: Envelope;
  history: HistoryPolicy;
}

/** Where a durable client publication ended up. */
export interface ClientDelivery {
  /**
   * `delivered`; `duplicate`: the sender published the id on the topic within the dedupe window
   * (nothing delivered again); `conflict`: somebody else did, the id is not the sender's to use.
   */
  outcome: "delivered" | "duplicate" | "conflict";
  /** Its offset in the topic's history (the first publication's, for a duplicate; unknown for a duplicate on the memory engine). */
  offset?: number;
  epoch?: string;
}

/** Where accepted events go: Redis pub/sub for a cluster, the local Socket.IO server for one node. */
export interface EventSink {
  /**
   * Delivers every envelope of one event, unless the event id was delivered within the dedupe
   * window. Claiming the id, appending to the topics' histories and delivering are one atomic
   * step. Resolves `false` for a duplicate (which gets no offset).
   * Deliveries handed in by one caller reach clients in the order of the calls.
   */
  deliver(event: EventKey, outgoing: readonly Outgoing[]): Promise<boolean>;
  /**
   * Delivers a durable client publication unless its id was published on the topic within the
   * dedupe window: claims the id, appends to the topic's history, broadcasts, and (on Redis)
   * appends it to its bucket's client-event stream for backends, as one atomic step.
   */
  deliverClient(event: EventKey, publication: ClientPublication): Promise<ClientDelivery>;
}

/** The sender of a client publication as its dedupe claim keeps it: ids are not unique across orgs. */
export function senderOf(envelope: Envelope): string {
  return `${envelope.sender_org_id ?? envelope.org_id}\n${envelope.sender_id ?? ""}`;
}

/** How long an event id is remembered for deduplication (docs/protocol.md "Idempotency": 5 minutes). */
export const DEDUPE_WINDOW_MS = 5 * 60_000;
