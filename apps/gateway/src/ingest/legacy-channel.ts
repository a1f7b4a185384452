import { createHash } from "node:crypto";
import { type CommandQueue, capRaw, type IngestSource, type Publisher } from "@hub/emitter";
import { MAX_EVENT_BYTES, normalizeId, PublishError, type PublishErrorCode, type QueueCommand, uuidv7From } from "@hub/events";
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
  /** Told about each rejection this module records itself (the pipeline reports its own). */
  onDeadLettered?: (source: IngestSource, code: PublishErrorCode) => void;
}

const SESSION_STARTED = "inhouse.session_started";

/** What becomes of a legacy `inhouse.session_started`: a command, or a rejection to dead-letter. */
type SessionStart = { command: QueueCommand } | { rejection: PublishError };

/**
 * On the legacy channel every `inhouse.session_started` is the backend's command to start a queue's
 * session (CONTRACT.md): `{ queue_id }`, or `{ queue }` whose `id` names it. It is never delivered
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
 * Every gateway receives every message. Each runs it through the publish pipeline, whose last step
 * claims the event id and broadcasts in one Redis script, so exactly one node delivers it, and any
 * node that is alive does. Events without an id get one derived from their content, the same on
 * every node. Messages are handed to the pipeline in arrival order and its Redis calls go out on one
 * connection, so the first broadcast of any event follows that of every event published before it.
 */
export function startLegacyChannel({ engine, publisher, commands, pattern, stats, onDeadLettered }: LegacyChannelOptions): void {
  engine.subscribeLegacy(pattern, (channel, message) => {
    const digest = createHash("sha256").update(channel).update("\n").update(message).digest();
    const start = sessionStart(message, channelOrg(pattern, channel), digest);
    if (start && "command" in start) {
      const { command } = start;
      // Every node enqueues it; the command id makes that one command.
      commands.enqueue([command]).then(
        ([fresh]) => stats.record("legacy", { status: "fulfilled", value: { id: command.id, topics: [], duplicate: !fresh } }),
        (reason: unknown) =>
          stats.record("legacy", { status: "rejected", reason }, { org_id: command.org_id, event_type: SESSION_STARTED }),
      );
      return;
    }
    if (start) {
      const error = start.rejection;
      const orgId = channelOrg(pattern, channel);
      error.orgId = orgId;
      error.eventType = SESSION_STARTED;
      const letter = {
        source: "legacy" as const,
        code: error.code,
        message: error.message,
        issues: error.issues,
        orgId,
        type: SESSION_STARTED,
        channel,
        ...capRaw(message),
        receivedAt: Date.now(),
      };
      // Once however many nodes refuse it: the same fingerprint as the pipeline's.
      engine.deadLetters.append(letter, digest.toString("hex")).then(
        (recorded) => {
          if (recorded) onDeadLettered?.("legacy", error.code);
          stats.record("legacy", { status: "rejected", reason: error });
        },
        (reason: unknown) => stats.record("legacy", { status: "rejected", reason }, { org_id: orgId, event_type: SESSION_STARTED }),
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
