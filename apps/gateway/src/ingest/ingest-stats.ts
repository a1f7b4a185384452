import { PublishError } from "@hub/events";
import type { IngestSource, PublishResult } from "@hub/store";
import type { Logger } from "pino";
import type { GatewayMetrics } from "../metrics/metrics.js";

/** The counters IngestStats keeps. */
type IngestMetrics = Pick<GatewayMetrics, "ingested" | "eventsIn" | "dedupeHits" | "dropped" | "legacySkipped" | "legacyPaused">;

/**
 * Counts what each producer path took in, by outcome and reason, and logs rejections without
 * letting a flood of bad input flood the log: one line per reason per interval, with the count of
 * the ones it stayed silent about.
 */
export class IngestStats {
  readonly #lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: IngestMetrics,
    private readonly logIntervalMs = 5_000,
  ) {}

  /** Counts a valid event the pipeline handed on (PublisherOptions.onPublished): `type` is its catalog type, a bounded set. */
  published(source: IngestSource, type: string, duplicate: boolean): void {
    this.metrics.eventsIn.inc({ source, type });
    if (duplicate) this.metrics.dedupeHits.inc({ source });
  }

  /** Counts a legacy message left to its org's owners (LegacyPartition): not parsed here. */
  legacySkipped(): void {
    this.metrics.legacySkipped.inc();
  }

  /** Counts and logs (once per interval) a pause of the legacy subscription: `inFlight` messages reached the bound. */
  legacyPaused(inFlight: number): void {
    this.metrics.legacyPaused.inc();
    this.#log("legacy", "paused", () =>
      this.logger.warn({ source: "legacy", in_flight: inFlight }, "legacy channel paused: too many messages in flight"),
    );
  }

  /**
   * Records the outcome of one publish. A rejection is logged with the org and type the input named
   * (from the `PublishError`, or `about` for failures that are not one).
   */
  record(source: IngestSource, outcome: PromiseSettledResult<PublishResult>, about: { org_id?: string; event_type?: string } = {}): void {
    const counter = this.metrics.ingested;
    if (outcome.status === "fulfilled") {
      counter.inc({ source, outcome: outcome.value.duplicate ? "duplicate" : "accepted", code: "" });
      return;
    }
    const error = outcome.reason;
    if (error instanceof PublishError) {
      counter.inc({ source, outcome: "rejected", code: error.code });
      const fields = { source, code: error.code, org_id: error.orgId ?? about.org_id, event_type: error.eventType ?? about.event_type };
      this.#log(source, error.code, () => this.logger.warn({ ...fields, reason: error.message }, "event rejected"));
    } else {
      counter.inc({ source, outcome: "failed", code: "" });
      this.metrics.dropped.inc({ reason: "publish_failed" });
      this.#log(source, "failed", () => this.logger.error({ source, ...about, err: error }, "event could not be published"));
    }
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
