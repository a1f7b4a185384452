import { ENTITY_TOMBSTONE_MS, type EntityStore } from "./entity-store.js";

interface Entry {
  /** Null: a tombstone, the version of a deleted entity. */
  state: string | null;
  version: number;
  /** When the state goes away (retainMs), epoch ms. */
  expiresAt: number | null;
}

/** Expired states and tombstones nobody reads again are dropped every this many commits. */
const PRUNE_EVERY = 1_000;

/** The memory store: an `EntityStore`, and how many entities it holds. */
export interface MemoryEntityStore extends EntityStore {
  /** Entities held, tombstones and finished states not yet expired included. */
  size(): number;
}

/**
 * The entity store of the embedded engine: the same contract as the Redis one, in this process.
 * Expired states are dropped when read, and every `PRUNE_EVERY` commits (a finished call nobody
 * reads again would stay for ever otherwise).
 *
 * @example
 * const runtime = createEntityRuntime({ store: memoryEntityStore(), deliver, logger });
 */
export function memoryEntityStore(now: () => number = Date.now): MemoryEntityStore {
  const entities = new Map<string, Entry>();
  let untilPrune = PRUNE_EVERY;
  const deadlines = new Map<string, Map<string, number>>();
  const outboxes = new Map<string, string[]>();
  const stalledSince = new Map<string, Map<string, number>>();
  const key = (kind: string, id: string) => `${kind}\n${id}`;
  const setOf = <V>(map: Map<string, Map<string, V>>, kind: string) => {
    const set = map.get(kind) ?? new Map<string, V>();
    map.set(kind, set);
    return set;
  };
  const live = (kind: string, id: string) => {
    const entry = entities.get(key(kind, id));
    if (entry?.expiresAt != null && entry.expiresAt <= now()) {
      entities.delete(key(kind, id));
      return undefined;
    }
    return entry;
  };
  const earliest = (set: Map<string, number> | undefined, upTo: number, limit: number) =>
    [...(set ?? [])]
      .filter(([, at]) => at <= upTo)
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([id]) => id);

  return {
    async load(kind, id) {
      const entry = live(kind, id);
      return entry
        ? { state: entry.state === null ? null : JSON.parse(entry.state), version: entry.version }
        : { state: null, version: -1 };
    },
    size: () => entities.size,
    async commit(change) {
      if (--untilPrune <= 0) {
        untilPrune = PRUNE_EVERY;
        const at = now();
        for (const [k, entry] of entities) if (entry.expiresAt != null && entry.expiresAt <= at) entities.delete(k);
      }
      const k = key(change.kind, change.id);
      const version = live(change.kind, change.id)?.version ?? -1;
      if (version !== change.expectedVersion) return "conflict";
      let next = version + 1;
      if (change.state === null) {
        // Nothing to delete: no tombstone either.
        if (version === -1) next = -1;
        else entities.set(k, { state: null, version: next, expiresAt: now() + ENTITY_TOMBSTONE_MS });
      } else {
        entities.set(k, { state: change.state, version: next, expiresAt: change.retainMs === null ? null : now() + change.retainMs });
      }
      if (change.deadline === null) setOf(deadlines, change.kind).delete(change.id);
      else setOf(deadlines, change.kind).set(change.id, change.deadline);
      if (change.emissions.length > 0) {
        const box = outboxes.get(k) ?? [];
        box.push(...change.emissions.map((e) => JSON.stringify(e)));
        outboxes.set(k, box);
        const stalled = setOf(stalledSince, change.kind);
        if (!stalled.has(change.id)) stalled.set(change.id, now());
      }
      return next;
    },
    async due(kind, upTo, limit) {
      return earliest(deadlines.get(kind), upTo, limit);
    },
    async stalled(kind, before, limit) {
      return earliest(stalledSince.get(kind), before, limit);
    },
    async outbox(kind, id, count) {
      return (outboxes.get(key(kind, id)) ?? []).slice(0, count);
    },
    async ackOutbox(kind, id, delivered) {
      const k = key(kind, id);
      const box = outboxes.get(k) ?? [];
      // In delivery order: one not at the head was dropped already (another flush acked it).
      for (const json of delivered) if (box[0] === json) box.shift();
      if (box.length === 0) {
        outboxes.delete(k);
        stalledSince.get(kind)?.delete(id);
      }
    },
  };
}
