import type { StreamPosition } from "@hub/events";

export interface AckBatcherOptions {
  /** Sends one cumulative acknowledgement. */
  send(topic: string, position: StreamPosition): void;
  /** Quiet time after the last event of a burst before acknowledging it. */
  delayMs: number;
  /** Longest an event waits for its acknowledgement during a steady stream. */
  maxDelayMs: number;
}

interface Pending {
  position: StreamPosition;
  timer: ReturnType<typeof setTimeout>;
  /** When the first event of the burst was noted. */
  since: number;
}

/**
 * `autoAck`: acknowledgements are cumulative, so a burst of events needs one `ack` with its highest
 * offset. Each topic's pending ack goes out `delayMs` after the last event, or at the latest
 * `maxDelayMs` after the first one. Owns its timers: `close()` clears them.
 */
export class AckBatcher {
  readonly #pending = new Map<string, Pending>();

  constructor(readonly options: AckBatcherOptions) {}

  /** Everything up to `position` on the topic was processed. */
  note(topic: string, position: StreamPosition, now: number = Date.now()): void {
    const pending = this.#pending.get(topic);
    if (pending) {
      clearTimeout(pending.timer);
      // A new epoch restarts the count: the older epoch's offsets mean nothing in it.
      if (pending.position.epoch !== position.epoch || pending.position.offset < position.offset) pending.position = position;
    }
    const since = pending?.since ?? now;
    const delay = Math.max(0, Math.min(this.options.delayMs, since + this.options.maxDelayMs - now));
    const timer = setTimeout(() => this.flush(topic), delay);
    this.#pending.set(topic, { position: pending?.position ?? position, timer, since });
  }

  /** Sends the topic's pending ack now (every topic's without an argument). */
  flush(topic?: string): void {
    for (const name of topic === undefined ? [...this.#pending.keys()] : [topic]) {
      const pending = this.#pending.get(name);
      if (!pending) continue;
      clearTimeout(pending.timer);
      this.#pending.delete(name);
      this.options.send(name, pending.position);
    }
  }

  /** Drops everything pending, sending nothing. */
  close(): void {
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#pending.clear();
  }
}
