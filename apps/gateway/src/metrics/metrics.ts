import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Where the gauges read at scrape time come from. */
export interface MetricSources {
  /** Connected sockets. */
  connections(): number;
  /** Whether each Redis connection is ready, by role (Engine.redisConnections). */
  redisConnections(): Record<string, boolean>;
  /** Sharded pub/sub's subscriber connections (EngineHealth.shards); empty otherwise. */
  redisShards?(): Array<{ node: string; ready: boolean; channels: number }>;
}

/**
 * Broadcasts and deliveries by namespace, counted per broadcast with plain additions (no label
 * hashing on that path) and read into `hub_broadcasts_total` / `hub_deliveries_total` at scrape time.
 */
export type FanoutTally = Map<string, { broadcasts: number; deliveries: number }>;

/**
 * The gateway's Prometheus metrics; one registry per gateway, so tests can run several. Labels
 * stay bounded: a namespace, never a topic; an event type, never an id (docs/protocol.md "Metrics").
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Events taken in, by producer path, outcome and rejection code (`""` when not rejected). */
  readonly ingested: Counter<"source" | "outcome" | "code">;
  /** Valid events handed to the publish pipeline's sink (duplicates included), by producer path and type. */
  readonly eventsIn: Counter<"source" | "type">;
  /** Valid events whose id was seen within the dedupe window, by producer path. */
  readonly dedupeHits: Counter<"source">;
  /** Legacy messages of orgs this node does not own, left unparsed to their owners. */
  readonly legacySkipped: Counter;
  /** Times this node stopped reading the legacy channel: its messages in flight reached the bound. */
  readonly legacyPaused: Counter;
  /** Gateways in this node's view of the legacy channel's membership (0 while it processes every org). */
  readonly legacyMembers: Gauge;
  /** Rejected input written to the dead-letter queue by this node, by producer path and code. */
  readonly deadLettered: Counter<"source" | "code">;
  /** Of those, the ones written to their source's overflow stream (`DLQ_MAX_STREAMS_PER_SOURCE` reached), by producer path. */
  readonly deadLetterOverflow: Counter<"source">;
  /** Events neither delivered nor dead-lettered, by reason. */
  readonly dropped: Counter<"reason">;
  /** Times this node's live stream (the adapter's Redis subscription) came back after an interruption. */
  readonly liveGaps: Counter;
  /** Topic memberships of this node's sockets, by namespace. */
  readonly subscriptions: Gauge<"namespace">;
  /** Broadcasts this node handed to local sockets (rooms with at least one here) and their room sizes, by namespace. */
  readonly fanout: FanoutTally;
  /** Room broadcasts received from Redis (`hub_pubsub_messages_total`), counted by the broadcast observer. */
  readonly received: { messages: number };
  /** Publish (envelope `ts`) to the moment this node hands the broadcast to its sockets. */
  readonly publishToEmit: Histogram;
  /** History entries replayed to subscribers catching up, by namespace. */
  readonly replayed: Counter<"namespace">;
  /** Subscribes with `since`, by namespace and whether every missed event was still in history. */
  readonly recoveries: Counter<"namespace" | "recovered">;
  /** Requests, handshakes and HTTP publishes refused by a limit, by limit (LIMITS). */
  readonly limitRefusals: Counter<"limit">;
  /** Batch frames written to connections that negotiated them (`hub_write_batches_total`). */
  readonly batchFrames: Counter;
  /** Events those batch frames carried (`hub_write_batched_events_total`). */
  readonly batchedEvents: Counter;
  /** Connections past CLIENT_BUFFER_BYTES that were closed. */
  readonly slowConsumerDisconnects: Counter;
  /** Connections past CLIENT_BUFFER_BYTES whose client negotiated resync: live events stopped, `resync` sent once drained. */
  readonly slowConsumerResyncs: Counter;
  /** Connections the hub closed on a service's request, by reason (`revoked`, `disconnect`). */
  readonly forcedDisconnects: Counter<"reason">;
  /** Client publications on declared namespaces, by namespace, kind (`unknown` for an undeclared event) and outcome (`delivered`, `duplicate`, or the refusal's code). */
  readonly clientPublications: Counter<"namespace" | "kind" | "outcome">;
  /** Grant checks against AUTHZ_URL, by outcome (`allow`, `deny`, `unavailable`, `cached`). */
  readonly authzChecks: Counter<"outcome">;
  /** Commands of calls and huddles, by machine (`call`, `huddle`) and outcome (`applied`, `refused`, `unchanged`, `conflict`, `delivery_failed`). */
  readonly entityCommands: Counter<"kind" | "outcome">;
  /** How late calls' and huddles' deadlines fired (a ring timeout, a huddle's grace period), by machine. */
  readonly entityDeadlineLateness: Histogram<"kind">;
  /** Pushes for offline users (PUSH_WEBHOOK_URL), by kind and outcome (`PushOutcome`). */
  readonly pushes: Counter<"kind" | "outcome">;
  /** `presence.update` requests, by outcome (`updated`, `unchanged`, or the refusal's code). */
  readonly presenceUpdates: Counter<"outcome">;
}

/** The limits a refusal is counted under (`hub_limit_refusals_total{limit}`). */
export const LIMITS = [
  "request_rate",
  "subscribe_rate",
  "connections_per_user",
  "connections_per_ip",
  "handshake_rate",
  "pending_sessions",
  "http_publish_rate",
  "client_publish_rate",
] as const;
export type LimitName = (typeof LIMITS)[number];

/** Why an event was dropped: the pipeline failed (Redis unreachable...), or its rejection could not be recorded. */
const DROP_REASONS = ["publish_failed", "dead_letter_failed"] as const;
/** The producer paths a gateway ingests (SDK publishes never pass through one). */
const INGEST_SOURCES = ["http", "webhook", "legacy"] as const;

export function createMetrics(sources: MetricSources): GatewayMetrics {
  const registry = new Registry();
  // Includes hub_nodejs_eventloop_lag_seconds (and its percentiles), CPU, memory, GC and handles.
  collectDefaultMetrics({ register: registry, prefix: "hub_" });
  const registers = [registry];
  new Gauge({
    name: "hub_connections",
    help: "Socket.IO connections on this gateway (authenticated sockets).",
    registers,
    collect() {
      this.set(sources.connections());
    },
  });
  new Gauge({
    name: "hub_redis_connected",
    help: "1 while this gateway's Redis connection of that role (pub, sub, legacy) is ready, else 0; absent on the memory engine.",
    labelNames: ["role"],
    registers,
    collect() {
      this.reset();
      for (const [role, ready] of Object.entries(sources.redisConnections())) this.set({ role }, ready ? 1 : 0);
    },
  });
  // One series per subscriber connection of sharded pub/sub: a master of the cluster (`host:port`), or `single`.
  const shardLabel = (node: string) => node || "single";
  new Gauge({
    name: "hub_redis_shard_connected",
    help: "With HUB_PUBSUB=sharded: 1 while this gateway's subscriber connection to that master (shard) is ready, else 0.",
    labelNames: ["shard"],
    registers,
    collect() {
      this.reset();
      for (const { node, ready } of sources.redisShards?.() ?? []) this.set({ shard: shardLabel(node) }, ready ? 1 : 0);
    },
  });
  new Gauge({
    name: "hub_redis_shard_channels",
    help: "With HUB_PUBSUB=sharded: topic channels this gateway has subscribed on that master (shard).",
    labelNames: ["shard"],
    registers,
    collect() {
      this.reset();
      for (const { node, channels } of sources.redisShards?.() ?? []) this.set({ shard: shardLabel(node) }, channels);
    },
  });
  const dropped = new Counter({
    name: "hub_events_dropped_total",
    help: "Events this gateway took in and neither delivered nor dead-lettered, by reason (publish_failed, dead_letter_failed).",
    labelNames: ["reason"],
    registers,
  });
  for (const reason of DROP_REASONS) dropped.inc({ reason }, 0);
  const deadLetterOverflow = new Counter({
    name: "hub_dead_letter_overflow_total",
    help: "Rejected input this gateway recorded in its source's overflow stream, its own being one too many (DLQ_MAX_STREAMS_PER_SOURCE), by producer path.",
    labelNames: ["source"],
    registers,
  });
  for (const source of INGEST_SOURCES) deadLetterOverflow.inc({ source }, 0);
  const limitRefusals = new Counter({
    name: "hub_limit_refusals_total",
    help: "Requests, handshakes and HTTP publishes this gateway refused by a limit, by limit (docs/operations.md Limits).",
    labelNames: ["limit"],
    registers,
  });
  for (const limit of LIMITS) limitRefusals.inc({ limit }, 0);
  const batchFrames = new Counter({
    name: "hub_write_batches_total",
    help: "Frames that carried several broadcasts of one topic to one connection (clients that negotiated batch frames; WRITE_DELAY_MS).",
    registers,
  });
  const batchedEvents = new Counter({
    name: "hub_write_batched_events_total",
    help: "Broadcasts delivered inside batch frames (divided by hub_write_batches_total: events per batch frame).",
    registers,
  });
  const forcedDisconnects = new Counter({
    name: "hub_forced_disconnects_total",
    help: "Connections this gateway closed on a service's request, by reason (revoked, disconnect).",
    labelNames: ["reason"],
    registers,
  });
  for (const reason of ["revoked", "disconnect"]) forcedDisconnects.inc({ reason }, 0);
  const fanout: FanoutTally = new Map();
  const received = { messages: 0 };
  new Counter({
    name: "hub_pubsub_messages_total",
    help: "Broadcasts this gateway received from Redis pub/sub, whether or not it has sockets in their room (on sharded pub/sub, only rooms it has members of).",
    registers,
    collect() {
      this.reset();
      this.inc(received.messages);
    },
  });
  new Counter({
    name: "hub_broadcasts_total",
    help: "Broadcasts this gateway handed to local sockets (topics with at least one subscriber here), by namespace.",
    labelNames: ["namespace"],
    registers,
    collect() {
      this.reset();
      for (const [namespace, tally] of fanout) this.inc({ namespace }, tally.broadcasts);
    },
  });
  new Counter({
    name: "hub_deliveries_total",
    help: "Messages sent to local sockets: each broadcast adds the size of its topic's room on this gateway, by namespace.",
    labelNames: ["namespace"],
    registers,
    collect() {
      this.reset();
      for (const [namespace, tally] of fanout) this.inc({ namespace }, tally.deliveries);
    },
  });
  return {
    registry,
    received,
    ingested: new Counter({
      name: "hub_events_ingested_total",
      help: "Events this gateway took in, by producer path (http, webhook, legacy), outcome (accepted, duplicate, rejected, failed) and rejection code.",
      labelNames: ["source", "outcome", "code"],
      registers,
    }),
    eventsIn: new Counter({
      name: "hub_events_in_total",
      help: "Valid events this gateway's publish pipeline handed on (duplicates included), by producer path and event type.",
      labelNames: ["source", "type"],
      registers,
    }),
    dedupeHits: new Counter({
      name: "hub_dedupe_hits_total",
      help: "Valid events whose id was already delivered within the dedupe window (accepted, not delivered again), by producer path.",
      labelNames: ["source"],
      registers,
    }),
    legacySkipped: new Counter({
      name: "hub_legacy_skipped_total",
      help: "Legacy-channel messages of orgs this gateway does not own, left unparsed to their two owners.",
      registers,
    }),
    legacyPaused: new Counter({
      name: "hub_legacy_paused_total",
      help: "Times this gateway stopped reading the legacy channel because its messages in flight reached the bound (it reads on once half have settled; Redis holds what arrives meanwhile).",
      registers,
    }),
    legacyMembers: new Gauge({
      name: "hub_legacy_members",
      help: "Gateways in this gateway's view of the legacy channel's membership, which the orgs are partitioned over (0: it processes every org).",
      registers,
    }),
    deadLettered: new Counter({
      name: "hub_events_dead_lettered_total",
      help: "Rejected input this gateway recorded in the dead-letter queue, by producer path and code.",
      labelNames: ["source", "code"],
      registers,
    }),
    deadLetterOverflow,
    dropped,
    liveGaps: new Counter({
      name: "hub_live_stream_gaps_total",
      help: "Times this gateway's Redis subscription came back after an interruption (broadcasts meanwhile were lost; its clients were disconnected to recover).",
      registers,
    }),
    subscriptions: new Gauge({
      name: "hub_subscriptions",
      help: "Topic subscriptions held by this gateway's sockets, by topic namespace.",
      labelNames: ["namespace"],
      registers,
    }),
    fanout,
    publishToEmit: new Histogram({
      name: "hub_publish_to_emit_seconds",
      help: "From an event's publication (its envelope ts, the producer's clock) to this gateway handing it to its sockets.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    replayed: new Counter({
      name: "hub_history_replayed_events_total",
      help: "History entries replayed to subscribers catching up (recovery with since, store-and-forward), by namespace.",
      labelNames: ["namespace"],
      registers,
    }),
    recoveries: new Counter({
      name: "hub_recoveries_total",
      help: "Subscribes with since, by namespace and outcome (recovered true: every missed event replayed; false: out of the window or a new epoch).",
      labelNames: ["namespace", "recovered"],
      registers,
    }),
    limitRefusals,
    batchFrames,
    batchedEvents,
    slowConsumerDisconnects: new Counter({
      name: "hub_slow_consumer_disconnects_total",
      help: "Connections closed with reason slow_consumer: more than CLIENT_BUFFER_BYTES waited to be written to them.",
      registers,
    }),
    slowConsumerResyncs: new Counter({
      name: "hub_slow_consumer_resyncs_total",
      help: "Connections past CLIENT_BUFFER_BYTES whose client negotiated resync: their live events were dropped and resync sent once drained.",
      registers,
    }),
    forcedDisconnects,
    clientPublications: new Counter({
      name: "hub_client_publications_total",
      help: "Client publications (publish) on declared namespaces, by namespace, kind (durable, ephemeral, unknown) and outcome (delivered, duplicate, or the error code).",
      labelNames: ["namespace", "kind", "outcome"],
      registers,
    }),
    authzChecks: new Counter({
      name: "hub_authz_checks_total",
      help: "Grant checks for topics of grant namespaces against AUTHZ_URL, by outcome (allow, deny, unavailable, cached).",
      labelNames: ["outcome"],
      registers,
    }),
    entityCommands: new Counter({
      name: "hub_entity_commands_total",
      help: "Commands of calls and huddles, by machine (call, huddle) and outcome (applied, refused, unchanged, conflict, delivery_failed).",
      labelNames: ["kind", "outcome"],
      registers,
    }),
    entityDeadlineLateness: new Histogram({
      name: "hub_entity_deadline_lateness_seconds",
      help: "How late calls' and huddles' deadlines fired in this process (ring timeouts, huddle grace periods), by machine.",
      labelNames: ["kind"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    pushes: new Counter({
      name: "hub_push_total",
      help: "Pushes for offline users (PUSH_WEBHOOK_URL), by kind and outcome (queued, duplicate, sent, retried, given_up, skipped_online, dropped).",
      labelNames: ["kind", "outcome"],
      registers,
    }),
    presenceUpdates: new Counter({
      name: "hub_presence_updates_total",
      help: "presence.update requests, by outcome (updated, unchanged, or the refusal's code).",
      labelNames: ["outcome"],
      registers,
    }),
  };
}
