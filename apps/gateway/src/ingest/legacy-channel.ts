import { createHash } from "node:crypto";
import type { Publisher } from "@hub/emitter";
import { uuidv7From } from "@hub/events";
import type { Engine } from "../engine/engine.js";
import type { IngestStats } from "./ingest-stats.js";

export interface LegacyChannelOptions {
  engine: Engine;
  publisher: Publisher;
  /** `LEGACY_CHANNEL_PATTERN`, ending in `*`: what follows the prefix is the org id. */
  pattern: string;
  stats: IngestStats;
}

/** The org a legacy channel belongs to: `prostaff:events:42` -> `42`. */
export function channelOrg(pattern: string, channel: string): string {
  return channel.slice(pattern.length - 1);
}

/**
 * Ingests the Redis channel the Rails backend publishes to (`PUBLISH prostaff:events:{org_id}`).
 *
 * Every gateway receives every message. Each runs it through the publish pipeline, whose last step
 * claims the event id and broadcasts in one Redis script, so exactly one node delivers it, and any
 * node that is alive does. Events without an id get one derived from their content, the same on
 * every node. Messages are handed to the pipeline in arrival order and its Redis calls go out on one
 * connection, so the first broadcast of any event follows that of every event published before it.
 */
export function startLegacyChannel({ engine, publisher, pattern, stats }: LegacyChannelOptions): void {
  engine.subscribeLegacy(pattern, (channel, message) => {
    const digest = createHash("sha256").update(channel).update("\n").update(message).digest();
    const outcome = publisher.publish(message, {
      source: "legacy",
      channel,
      expectOrgId: channelOrg(pattern, channel),
      fingerprint: digest.toString("hex"),
      assignId: (event) => uuidv7From(event.publishedAt ?? 0, digest),
    });
    outcome.then(
      (value) => stats.record("legacy", { status: "fulfilled", value }),
      (reason: unknown) => stats.record("legacy", { status: "rejected", reason }),
    );
  });
}
