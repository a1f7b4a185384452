import type { EntityEmission } from "./machine.js";

/** An entity as stored: its state (null when there is none) and its version. */
export interface StoredEntity<S> {
  state: S | null;
  /**
   * -1 while there never was an entity (or its tombstone expired); moves by one with every committed
   * change, a delete included: a deleted entity leaves a tombstone holding its version for
   * `ENTITY_TOMBSTONE_MS`, so an entity created again at the same id never repeats a version and a
   * change decided on the old one cannot commit onto the new one.
   */
  version: number;
}

/**
 * How long a deleted entity's version is kept (its tombstone), ms: far longer than any decision
 * takes between its read and its commit.
 */
export const ENTITY_TOMBSTONE_MS = 3_600_000;

/** One change of one entity, committed only on top of the version it was computed from. */
export interface EntityChange {
  kind: string;
  id: string;
  expectedVersion: number;
  /** The next state, JSON; null deletes the entity. */
  state: string | null;
  /** The next deadline, epoch ms; null for none. */
  deadline: number | null;
  /** How long the state is kept, ms; null keeps it. */
  retainMs: number | null;
  emissions: readonly EntityEmission[];
}

/**
 * Where entities live: Redis for a cluster, memory for the embedded engine. A commit changes the
 * state, the deadline set and the outbox in one atomic step, only on top of the version read
 * (optimistic concurrency: the version is the fence), so a deadline can neither fire twice nor get
 * lost, and whoever commits an event, the outbox delivers it.
 */
export interface EntityStore {
  load<S>(kind: string, id: string): Promise<StoredEntity<S>>;
  /** The new version, or "conflict" when the version moved on since it was read. */
  commit(change: EntityChange): Promise<number | "conflict">;
  /** Ids of entities of `kind` whose deadline is at or before `now`, earliest first, at most `limit` per bucket. */
  due(kind: string, now: number, limit: number): Promise<string[]>;
  /** Ids of entities of `kind` with events committed before `before` and not yet delivered. */
  stalled(kind: string, before: number, limit: number): Promise<string[]>;
  /** An entity's undelivered events, oldest first, as stored (JSON). */
  outbox(kind: string, id: string, count: number): Promise<string[]>;
  /** Drops the outbox's first events if they are these (another process may have delivered them already). */
  ackOutbox(kind: string, id: string, delivered: readonly string[]): Promise<void>;
}
