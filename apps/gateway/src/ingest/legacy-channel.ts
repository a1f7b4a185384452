import { hash } from "node:crypto";
import { MAX_EVENT_BYTES, normalizeId, PublishError, type QueueCommand, uuidv7From } from "@hub/events";
import type { CommandQueue, Publisher } from "@hub/store";
import type { Channels } from "../engine/engine.js";
import type { IngestStats } from "./ingest-stats.js";

export interface LegacyChannelOptions {
  channels: Channels;
  publisher: Publisher;
  /** Where `inhouse.session_started` commands go. */
  commands: CommandQueue;
  /** `LEGACY_CHANNEL_PATTERN`, ending in `*`: what follows the prefix is the org id. */
  pattern: string;
  /** Whether this node processes the messages of a channel (LegacyPartition.owns); the others are only counted. */
  owns: (channel: string) => boolean;
  stats: IngestStats;
  /**
   * Messages handed on (to the pipeline, the command queue or the dead-letter queue) and not yet
   * settled at most: at the bound the node stops reading the legacy subscription, and reads on once
   * half have settled. Redis holds what is published meanwhile.
   * @default LEGACY_MAX_IN_FLIGHT
   */
  maxInFlight?: number;
}

/** How many legacy messages a node has in flight at most unless told (`LegacyChannelOptions.maxInFlight`). */
export const LEGACY_MAX_IN_FLIGHT = 2_000;

const SESSION_STARTED = "inhouse.session_started";

/** What becomes of a legacy `inhouse.session_started`: a command, or a rejection to dead-letter. */
type SessionStart = { command: QueueCommand } | { rejection: PublishError };

/**
 * On the legacy channel every `inhouse.session_started` is the backend's command to start a queue's
 * session (docs/protocol.md "Legacy Redis channel"): `{ queue_id }`, or `{ queue }` whose `id` names it. It is never delivered
 * itself; the worker emits its own `session_started`. Without either id it is refused. Anything
 * that is not that type on its own org's channel, or is not a JSON object, is left to the pipeline
 * (as an event, or as `invalid_json` / `invalid_event` / `org_mismatch`).
 */
function sessionStart(message: string, channelOrgId: string, digest: Buffer): SessionStart | undefined {
  if (!message.includes(SESSION_STARTED)) return undefined;
  // Over the size limit: the pipeline refuses it as payload_too_large.
  if (Buffer.byteLength(message) > MAX_EVENT_BYTES) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const { id, type, org_id, payload } = raw as { id?: unknown; type?: unknown; org_id?: unknown; payload?: unknown };
  if (type !== SESSION_STARTED || normalizeId(org_id) !== channelOrgId) return undefined;
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined; // invalid_event
  const { queue_id, queue } = payload as { queue_id?: unknown; queue?: unknown };
  const queueId =
    normalizeId(queue_id) ?? (typeof queue === "object" && queue !== null ? normalizeId((queue as { id?: unknown }).id) : undefined);
  if (queueId === undefined) {
    return {
      rejection: new PublishError(
        "invalid_event",
        `${SESSION_STARTED} on the legacy channel is a command to start a queue's session: it needs the queue's id`,
        ["payload.queue_id: Expected a queue id (string or integer), or payload.queue.id"],
      ),
    };
  }
  const commandId = normalizeId(id) ?? `legacy-${digest.toString("hex").slice(0, 32)}`;
  return {
    command: { id: commandId, command: "start_session", org_id: channelOrgId, queue_id: queueId, user_id: undefined, capacity: undefined },
  };
}

/** The org a legacy channel belongs to: `prostaff:events:42` -> `42`. */
export function channelOrg(pattern: string, channel: string): string {
  return channel.slice(pattern.length - 1);
}

/**
 * Ingests the Redis channel the Rails backend publishes to (`PUBLISH prostaff:events:{org_id}`).
 *
 * Every gateway receives every message, and processes those of the orgs it owns (`owns`, from the
 * channel name alone: the others cost no parsing); each org has two owners, more while membership
 * changes. Each owner runs the message through the publish pipeline, whose last step claims the
 * event id and broadcasts in one Redis script, so exactly one node delivers it, and any owner that
 * is alive does. Events without an id get one derived from their content, the same on every node.
 * Messages are handed to the pipeline in arrival order and its Redis calls go out on one
 * connection, so the first broadcast of any event follows that of every event of its org published
 * before it, while the org's owners stay the same (docs/protocol.md "Ordering"). The pipeline's
 * deliveries queued in one event-loop turn share one Redis script call (the sink's batching).
 *
 * Backpressure: at most `maxInFlight` messages are in flight (handed on, not yet settled), plus
 * what one read of the socket held. At the bound the node pauses reading its legacy subscription
 * (counted in `hub_legacy_paused_total`, logged) rather than dropping: Redis holds what is published
 * meanwhile in the subscriber's output buffer, and the node reads it once half have settled, in
 * order, so a burst costs latency and nothing is lost. Only an overload longer than Redis's
 * `client-output-buffer-limit pubsub` allows makes Redis disconnect the subscriber (ioredis
 * reconnects and subscribes again; what was published in between is lost, and logged as the
 * connection's error).
 */
export function startLegacyChannel(options: LegacyChannelOptions): void {
  const { channels, publisher, commands, pattern, owns, stats } = options;
  const maxInFlight = options.maxInFlight ?? LEGACY_MAX_IN_FLIGHT;
  let inFlight = 0;
  let paused = false;
  /** Tracks one message handed on: at the bound, stops reading until half have settled. */
  const track = (settled: Promise<unknown>) => {
    inFlight++;
    if (inFlight >= maxInFlight && !paused) {
      paused = true;
      flow.pause();
      stats.legacyPaused(inFlight);
    }
    void settled.finally(() => {
      inFlight--;
      if (paused && inFlight <= maxInFlight / 2) {
        paused = false;
        flow.resume();
      }
    });
  };
  const flow = channels.subscribe(pattern, (channel, message) => {
    if (!owns(channel)) {
      stats.legacySkipped();
      return;
    }
    // One-shot (no Hash object per message): the same digest as hashing channel, "\n", message in turn.
    const digest = hash("sha256", `${channel}\n${message}`, "buffer");
    const orgId = channelOrg(pattern, channel);
    const start = sessionStart(message, orgId, digest);
    if (start && "command" in start) {
      const { command } = start;
      // Every owner enqueues it; the command id makes that one command.
      track(
        commands.enqueue([command]).then(
          ([fresh]) => stats.record("legacy", { status: "fulfilled", value: { id: command.id, topics: [], duplicate: !fresh } }),
          (reason: unknown) =>
            stats.record("legacy", { status: "rejected", reason }, { org_id: command.org_id, event_type: SESSION_STARTED }),
        ),
      );
      return;
    }
    if (start) {
      const fingerprint = digest.toString("hex");
      // Recorded once however many owners refuse it: the same fingerprint as the pipeline's. reject
      // never fails (a failed dead-letter write goes to the publisher's onDeadLetterError).
      track(
        publisher
          .reject(message, start.rejection, { source: "legacy", raw: true, channel, fingerprint })
          .then(() => stats.record("legacy", { status: "rejected", reason: start.rejection })),
      );
      return;
    }
    const outcome = publisher.publish(message, {
      source: "legacy",
      raw: true,
      channel,
      expectOrgId: orgId,
      fingerprint: digest.toString("hex"),
      assignId: (event) => uuidv7From(event.publishedAt ?? 0, digest),
    });
    track(
      outcome.then(
        (value) => stats.record("legacy", { status: "fulfilled", value }),
        (reason: unknown) => stats.record("legacy", { status: "rejected", reason }),
      ),
    );
  });
}
