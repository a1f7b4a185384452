import type { EngineKind } from "@hub/runtime";
import type { Server } from "socket.io";

/** Redis as the engine sees it: `disabled` on the memory engine. */
export type RedisState = "connected" | "disconnected" | "disabled";

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
  redisState(): RedisState;
  close(): Promise<void>;
}
