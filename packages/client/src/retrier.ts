import { HubError, isTransient } from "./hub-error.js";

export interface RetrierOptions {
  /** How long one `run` keeps trying, from its call. @default 30000 */
  timeoutMs?: number;
  /** Wait before the next attempt after a transient failure other than `rate_limited`, by attempt (0, 1, ...). */
  retryDelay?: (attempt: number) => number;
}

interface Sleeper {
  timer: ReturnType<typeof setTimeout>;
  reject: (error: HubError) => void;
}

/**
 * Runs a request again after transient failures (`timeout`, `unavailable`, `internal`,
 * `rate_limited` after its `retry_after_ms`) until it succeeds, fails for good, or `timeoutMs`
 * passed. The caller makes each attempt the same request (`call:initiate` with one call id), so the
 * hub applies it once. Owns its wait timers: `close()` clears them.
 */
export class Retrier {
  readonly #timeoutMs: number;
  readonly #retryDelay: (attempt: number) => number;
  readonly #sleepers = new Set<Sleeper>();
  #closed = false;

  constructor(options: RetrierOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retryDelay = options.retryDelay ?? ((attempt) => Math.min(5_000, 250 * 2 ** attempt));
  }

  async run<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#timeoutMs;
    for (let n = 0; ; n++) {
      if (this.#closed) throw new HubError("closed", "the hub is closed");
      try {
        return await attempt();
      } catch (error) {
        const failure = error instanceof HubError ? error : new HubError("internal", String(error), { cause: error });
        if (!isTransient(failure.code) || this.#closed) throw failure;
        const delay = failure.code === "rate_limited" && failure.retryAfterMs !== undefined ? failure.retryAfterMs : this.#retryDelay(n);
        if (Date.now() + delay >= deadline) {
          throw new HubError("timeout", `gave up after ${this.#timeoutMs} ms (last failure: ${failure.code}: ${failure.message})`, {
            cause: failure,
          });
        }
        await this.#sleep(delay);
      }
    }
  }

  /** Every waiting run rejects with `closed`; their timers are cleared. */
  close(): void {
    this.#closed = true;
    for (const sleeper of this.#sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.reject(new HubError("closed", "the hub was closed"));
    }
    this.#sleepers.clear();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        reject,
        timer: setTimeout(() => {
          this.#sleepers.delete(sleeper);
          resolve();
        }, ms),
      };
      this.#sleepers.add(sleeper);
    });
  }
}
