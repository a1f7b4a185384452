import { createHash } from "node:crypto";
import type { CommandQueue, Publisher } from "@hub/emitter";
import { normalizeId, type QueueCommand, uuidv7From } from "@hub/events";
import type { Engine } from "../engine/engine.js";
import type { IngestStats } from "./ingest-stats.js";

export interface LegacyChannelOptions {
  engine: Engine;
  publisher: Publisher;
  /** Where `inhouse.session_started` commands go. */
  commands: CommandQueue;
  /** `LEGACY_CHANNEL_PATTERN`, ending in `*`: what follows the prefix is the org id. */
  pattern: string;
  stats: IngestStats;
}

/**
 * On the legacy channel `inhouse.session_started { queue_id }` is the backend's command to start that
 * queue's session; the worker then emits its own `session_started`. Anything else is an event.
 */
function sessionStartCommand(message: string, channelOrgId: string, digest: Buffer): QueueCommand | undefined {
  if (!message.includes("inhouse.session_started")) return undefined;
  let raw: { id?: unknown; type?: unknown; org_id?: unknown; payload?: { queue_id?: unknown; queue?: unknown } };
  try {
    raw = JSON.parse(message);
  } catch {
    return undefined;
  }
  const queueId = normalizeId(raw?.payload?.queue_id);
  if (raw?.type !== "inhouse.session_started" || raw.payload?.queue !== undefined || queueId === undefined) return undefined;
  if (normalizeId(raw.org_id) !== channelOrgId) return undefined; // the pipeline dead-letters the mismatch
  const id = normalizeId(raw.id) ?? `legacy-${digest.toString("hex").slice(0, 32)}`;
  return { id, command: "start_session", org_id: channelOrgId, queue_id: queueId, user_id: undefined, capacity: undefined };
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
export function startLegacyChannel({ engine, publisher, commands, pattern, stats }: LegacyChannelOptions): void {
  engine.subscribeLegacy(pattern, (channel, message) => {
    const digest = createHash("sha256").update(channel).update("\n").update(message).digest();
    const start = sessionStartCommand(message, channelOrg(pattern, channel), digest);
    if (start) {
      // Every node enqueues it; the command id makes that one command.
      commands.enqueue([start]).then(
        ([fresh]) => stats.record("legacy", { status: "fulfilled", value: { id: start.id, topics: [], duplicate: !fresh } }),
        (reason: unknown) =>
          stats.record("legacy", { status: "rejected", reason }, { org_id: start.org_id, event_type: "inhouse.session_started" }),
      );
      return;
    }
    const outcome = publisher.publish(message, {
      source: "legacy",
      raw: true,
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
