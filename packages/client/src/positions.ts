import type { StreamPosition } from "@hub/events";

/**
 * Where the client is on each topic with history: the last `{ offset, epoch }` it saw, from
 * envelopes and subscribe acks. Sent as `since` on every resubscribe so the server replays what was
 * missed.
 */
export class Positions {
  readonly #positions = new Map<string, StreamPosition>();

  get(topic: string): StreamPosition | undefined {
    return this.#positions.get(topic);
  }

  /**
   * Moves the topic's position forward. Within an epoch offsets only grow (a replay or an ack that
   * lags behind live events never moves it back); a different epoch means the history was lost and
   * started over, so it replaces the position. Returns whether the position changed.
   */
  advance(topic: string, next: StreamPosition): boolean {
    const current = this.#positions.get(topic);
    if (current && current.epoch === next.epoch && current.offset >= next.offset) return false;
    this.#positions.set(topic, { offset: next.offset, epoch: next.epoch });
    return true;
  }

  delete(topic: string): void {
    this.#positions.delete(topic);
  }
}

/**
 * The position an envelope or an ack carries, when it carries one. A topic without history is
 * acknowledged with `epoch: ""` and `offset: 0`: no position, nothing to recover from.
 */
export function positionOf(value: { offset?: number | undefined; epoch?: string | undefined }): StreamPosition | undefined {
  const { offset, epoch } = value;
  return typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0 && typeof epoch === "string" && epoch !== ""
    ? { offset, epoch }
    : undefined;
}
