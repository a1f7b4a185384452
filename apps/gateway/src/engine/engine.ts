import type { QueueStore } from "@hub/inhouse";
import type { EngineKind } from "@hub/runtime";
import type { CommandQueue, DeadLetters, EventSink, History } from "@hub/store";
import type { Server } from "socket.io";
import type { Presence } from "../presence/presence.js";
import type { UserSessions } from "../protection/user-sessions.js";
import type { LiveTap } from "../recovery/live-holds.js";

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

/** Receives each message of the legacy pub/sub pattern. */
export type LegacyListener = (channel: string, message: string) => void;

/**
 * What differs between a clustered hub (Redis) and the embedded single-node one (memory).
 * Everything above this interface runs the same code on both.
 */
export interface Engine {
  readonly kind: EngineKind;
  /** Joins the server to its peers (installs the adapter). */
  attach(io: Server): void;
  /** Resolves once broadcasts from every node reach this one; waits while Redis is unreachable. */
  ready(): Promise<void>;
  /** Where accepted events go: deduplicated, then to every subscribed socket in the cluster. */
  eventSink(io: Server): EventSink;
  readonly deadLetters: DeadLetters;
  /** Per-topic history: written by the event sink with each broadcast, read by subscribers. */
  readonly history: History;
  /** Hands this node's live broadcasts of the topics the tap wants to it, in delivery order. */
  tapLive(tap: LiveTap): void;
  /** Tells the observer about every broadcast this node hands to its sockets. */
  observeBroadcasts(observer: BroadcastObserver): void;
  /**
   * Resolves once every broadcast published before the call has reached this node's listeners
   * (the tap and the sockets' rooms).
   */
  liveBarrier(): Promise<void>;
  /**
   * Counts the interruptions of this node's live stream (its Redis subscription dropped): a catch-up
   * that saw the count change may have missed broadcasts.
   */
  liveGeneration(): number;
  /** Called once the live stream is back after an interruption, during which broadcasts were lost. */
  onLiveGap(listener: () => void): void;
  /** Cluster-wide presence for this node's sockets; `nodeId` names this node's entries. */
  createPresence(io: Server, nodeId: string): Presence;
  /** Users' connections (MAX_CONNECTIONS_PER_USER) and revocations, cluster-wide. */
  readonly userSessions: UserSessions;
  /** Where inhouse queue commands are durably accepted. */
  readonly commands: CommandQueue;
  /** The queue store when queues run inside this process (memory engine); the worker app runs them otherwise. */
  readonly embeddedQueues: QueueStore | undefined;
  /** Subscribes to a pub/sub pattern of the shared Redis; a no-op without Redis. `ready()` waits for it. */
  subscribeLegacy(pattern: string, listener: LegacyListener): void;
  redisState(): RedisState;
  /** Whether each of this node's Redis connections is ready, by role (`pub`, `sub`, `legacy`); empty without Redis. */
  redisConnections(): Record<string, boolean>;
  close(): Promise<void>;
}
