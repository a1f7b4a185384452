import type { EntityStore } from "@hub/entities";
import type { QueueStore } from "@hub/inhouse";
import type { EngineKind } from "@hub/runtime";
import type { CommandQueue, DeadLetters, EventSink, History } from "@hub/store";
import type { IngestNodes } from "../ingest/ingest-nodes.js";
import type { Presence } from "../presence/presence.js";
import type { PresenceNaming } from "../presence/presence-event.js";
import type { PublishRate } from "../protection/publish-rate.js";
import type { UserSessions } from "../protection/user-sessions.js";
import type { HubServer } from "../protocol/hub-socket.js";
import type { ConversationMembers } from "../push/conversation-members.js";
import type { PushQueue } from "../push/push-queue.js";
import type { LiveTap } from "../recovery/live-holds.js";
import type { CallLines } from "../rtc/call-lines.js";
import type { ShardState } from "./shard-subscriber.js";
import type { AdapterConstructor } from "./write-coalescing.js";

/** Redis as the engine sees it: `disabled` on the memory engine. */
export type RedisState = "connected" | "disconnected" | "disabled";

/**
 * Told about each event broadcast this node hands to its local sockets, for metrics: once per
 * broadcast, never per socket, so it must stay cheap.
 */
export interface BroadcastObserver {
  /** A broadcast to `topic` reached this node: answers how many local sockets are in the topic's room (0: none here). */
  broadcast(topic: string): number;
  /** A broadcast with local subscribers was handed to them `ms` after it was published (its envelope's `ts`). */
  latency(ms: number): void;
}

/** Receives each message of a subscribed channel pattern. */
export type ChannelListener = (channel: string, message: string) => void;

/**
 * Shares broadcasts between the nodes, and shows this node its live stream: what recovery needs to
 * join a topic's history to its live broadcasts without a gap (the tap, the barrier, the gaps).
 */
export interface Broker {
  /** Joins the server to its peers: installs its adapter, as `decorate` makes it (write coalescing). */
  attach(io: HubServer, decorate: (base: AdapterConstructor) => AdapterConstructor): void;
  /** Where accepted events go: deduplicated, then to every subscribed socket in the cluster. */
  eventSink(io: HubServer): EventSink;
  /** Hands this node's live broadcasts of the topics the tap wants to it, in delivery order. */
  tapLive(tap: LiveTap): void;
  /** Tells the observer about every broadcast this node hands to its sockets. */
  observeBroadcasts(observer: BroadcastObserver): void;
  /**
   * Makes sure this node receives the room's broadcasts until the returned function is called,
   * resolving once it does: on sharded pub/sub a node is subscribed only to the rooms it has
   * sockets in, and a catch-up reads history before its socket joins. A no-op where the node
   * receives every broadcast.
   */
  follow(room: string): Promise<() => void>;
  /**
   * Resolves once every broadcast to the room published before the call has reached this node's
   * listeners (the tap and the sockets' rooms). The room is followed.
   */
  liveBarrier(room: string): Promise<void>;
  /**
   * Moves with each interruption of the live stream that carries the room (a Redis subscriber
   * connection dropped, a failover moved the room's channel): a catch-up that saw it change may
   * have missed broadcasts.
   */
  liveGeneration(room: string): number;
  /**
   * Called when broadcasts were lost to an interruption of the live stream, with the rooms whose
   * broadcasts were lost (`undefined`: all of them): on classic pub/sub once the subscriber is back;
   * on sharded pub/sub as soon as a connection drops or a channel moves to another master, before
   * anything arrives on the new subscription.
   */
  onLiveGap(listener: (rooms: readonly string[] | undefined) => void): void;
}

/** What the cluster keeps: the storage ports of @hub/store, and the gateway's own. */
export interface Stores {
  readonly deadLetters: DeadLetters;
  /** Per-topic history: written by the event sink with each broadcast, read by subscribers. */
  readonly history: History;
  /** Where inhouse queue commands are durably accepted. */
  readonly commands: CommandQueue;
  /** Users' client publications per second (CLIENT_PUBLISH_RATE), cluster-wide. */
  readonly publishRate: PublishRate;
  /** Users' connections (MAX_CONNECTIONS_PER_USER) and revocations, cluster-wide. */
  readonly userSessions: UserSessions;
  /**
   * The gateways ingesting the legacy channel, which its orgs are partitioned over; undefined on
   * the memory engine, which ingests no legacy channel.
   */
  readonly ingestNodes: IngestNodes | undefined;
  /** Pending pushes for offline users and the conversations' members they go to (docs/operations.md "Push hook"). */
  readonly push: { readonly queue: PushQueue; readonly members: ConversationMembers };
  /** Cluster-wide presence for this node's sockets; `nodeId` names this node's entries, `names` what each topic's presence is announced as. */
  presence(io: HubServer, nodeId: string, names: PresenceNaming, onSwept?: (room: string, userId: string, orgId: string) => void): Presence;
  /**
   * The queues' state, when this process can run them: the memory engine keeps it in process (so
   * the gateway runs the queue-worker's loop too); on Redis the queue-worker app opens its own.
   */
  readonly localQueues: QueueStore | undefined;
  /** Calls' and huddles' state, deadlines and outboxes (the entity runtime's store). */
  readonly entities: EntityStore;
  /** Which call each user is on. */
  readonly callLines: CallLines;
}

/** Whether the shared store answers. */
export interface EngineHealth {
  redisState(): RedisState;
  /** Whether requests that need Redis can be served now (Redis connected, or no Redis at all). */
  available(): boolean;
  /** Whether each of this node's Redis connections is ready, by role (`pub`, `sub`, ...); empty without Redis. */
  redisConnections(): Record<string, boolean>;
  /** With sharded pub/sub, each subscriber connection (one per master of a Redis Cluster); empty otherwise. */
  shards(): ShardState[];
}

/** Flow control of a pattern subscription's connection. */
export interface ChannelFlow {
  /** Stops reading the connection: Redis holds what is published meanwhile (up to its `client-output-buffer-limit pubsub`). */
  pause(): void;
  /** Reads on. */
  resume(): void;
}

/** Pattern subscriptions on the shared pub/sub, for product features that listen to channels. */
export interface Channels {
  /**
   * Subscribes to a channel pattern of the shared Redis on a connection of its own; a no-op without
   * Redis. `ready()` waits for it.
   */
  subscribe(pattern: string, listener: ChannelListener): ChannelFlow;
}

/**
 * What differs between a clustered hub (Redis) and the embedded single-node one (memory), as small
 * ports. Everything above them (the socket protocol, the HTTP routes, the legacy channel, the
 * embedded queue-worker) runs the same code on both.
 */
export interface Engine {
  readonly kind: EngineKind;
  readonly broker: Broker;
  readonly stores: Stores;
  readonly health: EngineHealth;
  readonly channels: Channels;
  /** Resolves once broadcasts from every node reach this one; waits while Redis is unreachable. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Health of an engine from its Redis state. */
export function engineHealth(
  redisState: () => RedisState,
  redisConnections: () => Record<string, boolean>,
  shards: () => ShardState[] = () => [],
): EngineHealth {
  return { redisState, available: () => redisState() !== "disconnected", redisConnections, shards };
}
