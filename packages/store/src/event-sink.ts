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

/** Where accepted events go: Redis pub/sub for a cluster, the local Socket.IO server for one node. */
export interface EventSink {
  /**
   * Delivers every envelope of one event, unless the event id was delivered within the dedupe
   * window. Claiming the id, appending to the topics' histories and delivering are one atomic
   * step. Resolves `false` for a duplicate (which gets no offset).
   * Deliveries handed in by one caller reach clients in the order of the calls.
   */
  deliver(event: EventKey, outgoing: readonly Outgoing[]): Promise<boolean>;
}

/** How long an event id is remembered for deduplication (docs/protocol.md "Idempotency": 5 minutes). */
export const DEDUPE_WINDOW_MS = 5 * 60_000;
