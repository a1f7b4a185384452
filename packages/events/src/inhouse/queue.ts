/** Where a queue is in its life (docs/protocol.md "Inhouse queues"). */
export type QueueStatus = "open" | "check_in" | "in_session" | "closed";

export interface QueuePlayer {
  user_id: string;
  checked_in: boolean;
}

/** An inhouse queue as clients see it in `queue_updated`. */
export interface Queue {
  id: string;
  org_id: string;
  status: QueueStatus;
  capacity: number;
  players: QueuePlayer[];
  /** Epoch milliseconds; set while `check_in`, else null. */
  check_in_deadline: number | null;
  /** Strictly increases with every change (by one; a reconcile with the backend may jump it). */
  version: number;
}

/** Identifies a queue across the cluster. */
export interface QueueRef {
  org_id: string;
  queue_id: string;
}

/** The default number of players a queue takes. */
export const DEFAULT_CAPACITY = 10;

/** `{org_id}/{queue_id}`: a queue's name in sets, logs and channels. */
export function queueName(ref: QueueRef): string {
  return `${ref.org_id}/${ref.queue_id}`;
}

export function parseQueueName(name: string): QueueRef | undefined {
  const slash = name.indexOf("/");
  if (slash <= 0 || slash === name.length - 1) return undefined;
  return { org_id: name.slice(0, slash), queue_id: name.slice(slash + 1) };
}
