/**
 * What a client receives for every event: `socket.on(clientEvent, (msg: Envelope) => …)`.
 * `offset` and `epoch` are present on topics whose namespace keeps history.
 */
export interface Envelope<D = unknown> {
  /** Unique per event; producers may supply it for idempotency. */
  id: string;
  /** Versioned domain type, e.g. `tournament_match.confirmed`, `ticket.sold.v2`. */
  type: string;
  /** The topic this copy was delivered on. */
  topic: string;
  org_id: string;
  data: D;
  /** Epoch milliseconds at publish. */
  ts: number;
  offset?: number;
  epoch?: string;
  /** On a client publication: the publishing user (their token's `sub`), set by the hub. */
  sender_id?: string;
  /** On a client publication: the publishing user's org (their token's `org_id`), set by the hub. */
  sender_org_id?: string;
}
