import type { Logger } from "pino";
import type { IngestNodes } from "./ingest-nodes.js";
import { LegacyOwnership } from "./legacy-ownership.js";

/** Heartbeats per TTL: a view is at most a quarter TTL old, and a missed beat or two is no departure. */
const LEGACY_BEATS_PER_TTL = 4;

export interface LegacyPartitionOptions {
  nodes: IngestNodes;
  /** This gateway's id (`HUB_NODE_ID`). */
  nodeId: string;
  /** `LEGACY_MEMBERSHIP_TTL_MS`: how long a gateway may go without a heartbeat before the others take over its orgs. */
  ttlMs: number;
  logger: Logger;
  /** Told the live members each time they change (metrics); undefined when every channel is processed. */
  onMembers?: (members: readonly string[] | undefined) => void;
}

/** This gateway's share of the legacy channel, kept current by its heartbeats. */
export interface LegacyPartition {
  /** Whether this gateway processes the messages of `channel`. */
  owns(channel: string): boolean;
  /** Stops the heartbeats and leaves the membership; the others take over this node's orgs at their next beat. */
  close(): Promise<void>;
}

/**
 * Partitions the legacy channel's orgs over the live gateways: each heartbeats into one shared set
 * every quarter TTL, reads the live members back, and processes the channels it is one of the two
 * rendezvous owners of (LegacyOwnership). The publish script's dedupe claim keeps each event to one
 * delivery while views differ, which the grace period makes them overlap for.
 *
 * While heartbeats fail for longer than the TTL this node processes every channel: the others have
 * stopped counting on it, and doing too much is safe.
 */
export function startLegacyPartition({ nodes, nodeId, ttlMs, logger, onMembers }: LegacyPartitionOptions): LegacyPartition {
  const ownership = new LegacyOwnership(nodeId);
  const beatMs = Math.max(1, Math.floor(ttlMs / LEGACY_BEATS_PER_TTL));
  let lastBeat = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let beating: Promise<void> = Promise.resolve();
  let failing = false;
  /** Whether "settled" was logged for the current view (the grace period of the one before it is over). */
  let settledLogged = false;

  async function beat(): Promise<void> {
    try {
      const members = await nodes.beat(nodeId, ttlMs);
      lastBeat = Date.now();
      if (failing) logger.info({ node_id: nodeId }, "legacy membership heartbeat recovered");
      failing = false;
      if (closed) return;
      if (ownership.update(members)) {
        logger.info({ members: ownership.members() }, "legacy channel members changed");
        onMembers?.(ownership.members());
        settledLogged = false;
      }
      if (ownership.settled() && !settledLogged) {
        // From here on this node processes only its own orgs under the current view.
        logger.info({ members: ownership.members() }, "legacy channel partition settled");
        settledLogged = true;
      }
    } catch (error) {
      if (!failing) logger.warn({ err: error, node_id: nodeId }, "legacy membership heartbeat failed");
      failing = true;
      if (Date.now() - lastBeat > ttlMs && ownership.members() !== undefined) {
        ownership.forget();
        logger.warn({ ttl_ms: ttlMs }, "legacy membership lost: processing every legacy channel until heartbeats succeed");
        onMembers?.(undefined);
      }
    }
  }

  function schedule(): void {
    beating = beat().finally(() => {
      if (!closed) timer = setTimeout(schedule, beatMs);
    });
  }
  schedule();

  return {
    owns: (channel) => ownership.owns(channel),
    async close() {
      closed = true;
      clearTimeout(timer);
      // A heartbeat landing after the leave would count this node again (bounded, like every
      // Redis wait of a shutdown, by SHUTDOWN_TIMEOUT_MS).
      await beating;
      // Best effort: without it the others notice after the TTL, and the second owner covers meanwhile.
      await nodes.leave(nodeId).catch((error: unknown) => logger.warn({ err: error }, "could not leave the legacy membership"));
    },
  };
}
