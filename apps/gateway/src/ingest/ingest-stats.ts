import type { IngestSource, PublishResult } from "@hub/emitter";
import { PublishError } from "@hub/events";
import type { Logger } from "pino";

type Outcome = "accepted" | "duplicate" | "rejected" | "failed";

/**
 * Counts what each producer path took in, by outcome and reason, and logs rejections without
 * letting a flood of bad input flood the log: one line per reason per interval, with the count of
 * the ones it stayed silent about.
 */
export class IngestStats {
  readonly #counts = new Map<string, number>();
  readonly #lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly logIntervalMs = 5_000,
  ) {}

  /** Records the outcome of one publish. */
  record(source: IngestSource, outcome: PromiseSettledResult<PublishResult>): void {
    if (outcome.status === "fulfilled") {
      this.#count(source, outcome.value.duplicate ? "duplicate" : "accepted");
      return;
    }
    const error = outcome.reason;
    if (error instanceof PublishError) {
      this.#count(source, "rejected", error.code);
      this.#log(source, error.code, () => this.logger.warn({ source, code: error.code, reason: error.message }, "event rejected"));
    } else {
      this.#count(source, "failed");
      this.#log(source, "failed", () => this.logger.error({ source, err: error }, "event could not be published"));
    }
  }

  /** Snapshot of the counters: `source outcome[ code]` -> count. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  #count(source: IngestSource, outcome: Outcome, code?: string): void {
    const key = code === undefined ? `${source} ${outcome}` : `${source} ${outcome} ${code}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  #log(source: IngestSource, reason: string, write: () => void, now = Date.now()): void {
    const key = `${source} ${reason}`;
    const last = this.#lastLogged.get(key);
    if (last && now - last.at < this.logIntervalMs) {
      last.suppressed++;
      return;
    }
    if (last && last.suppressed > 0) this.logger.warn({ source, reason, suppressed: last.suppressed }, "similar events were not logged");
    this.#lastLogged.set(key, { at: now, suppressed: 0 });
    write();
  }
}
