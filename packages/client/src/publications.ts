import { type PublishOk, type PublishRequest, uuidv7 } from "@hub/events";
import { HubError, isTransient } from "./hub-error.js";

/** What publications need from the connection. */
export interface PublicationTransport {
  /** Whether the connection is up now. */
  connected(): boolean;
  /** Sends one `publish` request; rejects with a `HubError` (`timeout` after `timeoutMs`, or on a disconnect before the ack). */
  send(request: PublishRequest, timeoutMs: number): Promise<PublishOk>;
}

export interface PublicationsOptions {
  transport: PublicationTransport;
  /** How long one publication keeps retrying, from the call. @default 30000 */
  timeoutMs?: number;
  /** How long one attempt waits for its ack (capped by what is left of `timeoutMs`). @default 10000 */
  attemptTimeoutMs?: number;
  /** Wait before retrying after a transient failure other than `rate_limited`, by attempt (0, 1, ...). */
  retryDelay?: (attempt: number) => number;
}

/** One publication as the caller gives it (the id is picked once, then kept by every attempt). */
export type Publication = Omit<PublishRequest, "id"> & { id?: string };

/** A publication waiting: for the connection (until its deadline), or for its next attempt's delay. */
interface Waiter {
  readonly kind: "online" | "delay";
  readonly resolve: () => void;
  readonly reject: (error: HubError) => void;
  /** The deadline (`online`) or the delay (`delay`). */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Client publications with at-least-once sending and exactly-once delivery: each publication gets
 * its id once, and every retry (after `timeout`, a disconnect before the ack, `unavailable`,
 * `internal`, or `rate_limited` after its `retry_after_ms`) sends the same id, which the hub
 * deduplicates. Knows nothing of sockets: the connection calls `online()` and `close()`.
 */
export class Publications {
  readonly #transport: PublicationTransport;
  readonly #timeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #retryDelay: (attempt: number) => number;
  /** Publications waiting for the connection, or for their next attempt. */
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  constructor(options: PublicationsOptions) {
    this.#transport = options.transport;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.#retryDelay = options.retryDelay ?? ((attempt) => Math.min(5_000, 250 * 2 ** attempt));
  }

  /** Publishes, retrying transient failures with the same id until the ack or `timeoutMs`. */
  async publish(publication: Publication): Promise<PublishOk> {
    const request: PublishRequest = { ...publication, id: publication.id ?? uuidv7() };
    const deadline = Date.now() + this.#timeoutMs;
    let last: HubError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (!this.#transport.connected()) await this.#waitOnline(deadline, last);
      try {
        return await this.#transport.send(request, Math.max(1, Math.min(this.#attemptTimeoutMs, deadline - Date.now())));
      } catch (error) {
        last = error instanceof HubError ? error : new HubError("internal", String(error), { cause: error });
        if (this.#closed) throw new HubError("closed", "the hub was closed before the publication was acknowledged", { cause: last });
        if (!isTransient(last.code)) throw last;
      }
      const delay = last.code === "rate_limited" && last.retryAfterMs !== undefined ? last.retryAfterMs : this.#retryDelay(attempt);
      if (Date.now() + delay >= deadline) throw this.#expired(last);
      await this.#wait("delay", delay, undefined);
    }
  }

  /**
   * One attempt, no retry: for ephemeral events (typing), where a late delivery is worse than none.
   * Not sent at all while disconnected.
   */
  async sendOnce(publication: Publication): Promise<PublishOk> {
    if (this.#closed) throw new HubError("closed", "the hub is closed");
    if (!this.#transport.connected()) throw new HubError("unavailable", "not connected; ephemeral publications are not queued");
    return this.#transport.send({ ...publication, id: publication.id ?? uuidv7() }, this.#attemptTimeoutMs);
  }

  /** Connected: publications waiting for the connection send now. */
  online(): void {
    // Those waiting out a delay keep it (a rate limit's retry_after_ms).
    for (const waiter of [...this.#waiters]) if (waiter.kind === "online") this.#settle(waiter);
  }

  /** Rejects every waiting publication with `closed` and clears their timers. */
  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) this.#settle(waiter, new HubError("closed", "the hub was closed"));
  }

  #waitOnline(deadline: number, last: HubError | undefined): Promise<void> {
    return this.#wait("online", Math.max(0, deadline - Date.now()), this.#expired(last));
  }

  /** `delay`: resolves after `ms`. `online`: resolves once connected, rejects with `expired` after `ms`. */
  #wait(kind: Waiter["kind"], ms: number, expired: HubError | undefined): Promise<void> {
    if (this.#closed) return Promise.reject(new HubError("closed", "the hub is closed"));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { kind, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => this.#settle(waiter, expired), ms);
      this.#waiters.add(waiter);
    });
  }

  #settle(waiter: Waiter, error?: HubError): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  #expired(last: HubError | undefined): HubError {
    const why = last ? ` (last failure: ${last.code}: ${last.message})` : " (not connected)";
    return new HubError("timeout", `publish: not acknowledged within ${this.#timeoutMs} ms${why}`, last ? { cause: last } : undefined);
  }
}
