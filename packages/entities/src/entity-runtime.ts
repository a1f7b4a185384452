import { ProtocolError } from "@hub/events";
import type { Logger } from "pino";
import type { EntityStore } from "./entity-store.js";
import type { Decision, EntityEmission, Machine } from "./machine.js";

/** Hooks the runtime calls as it works, for metrics; each must be cheap and must not throw. */
export interface EntityMetrics {
  /** A command was applied (`applied`), refused by its machine (`refused`), or answered without a change (`unchanged`). */
  command?(kind: string, outcome: "applied" | "refused" | "unchanged"): void;
  /** A deadline was applied `latenessMs` after it was due. */
  deadlineFired?(kind: string, latenessMs: number): void;
  /** Another process committed first: the command was decided again on the new state. */
  conflict?(kind: string): void;
  /** Delivering a committed event failed; it stays in the outbox and is delivered again later. */
  deliveryFailed?(kind: string): void;
}

export interface EntityRuntimeOptions {
  store: EntityStore;
  /**
   * Delivers one committed event to its topic. Its id deduplicates a repeated delivery; a rejection
   * leaves it in the outbox, delivered again by the next flush (the sweeper's, at the latest).
   */
  deliver(emission: EntityEmission): Promise<void>;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  metrics?: EntityMetrics;
}

/** The entity after a command. */
export interface Applied<S> {
  state: S | null;
  /** False when the machine answered without a change (`unchanged`). */
  changed: boolean;
}

/**
 * Applies commands and deadlines to entities: loads the state, asks the machine, commits the next
 * state with its deadline and events in one atomic step on top of the version read (a concurrent
 * change makes it decide again), then delivers the events from the outbox. Any process may apply
 * a command to any entity: there is no owner to lose, so a command's answer is one round of Redis
 * calls, and a deadline fires once whichever process gets there first (see `startEntitySweeper`).
 */
export interface EntityRuntime {
  /** Applies a command; a refusal throws `ProtocolError` with the machine's code. */
  apply<S, C>(machine: Machine<S, C>, id: string, command: C): Promise<Applied<S>>;
  /** The entity's current state, null when there is none. */
  read<S, C>(machine: Machine<S, C>, id: string): Promise<S | null>;
  /** Applies the entity's deadline if it is due; false when there was nothing to do. */
  expire<S, C>(machine: Machine<S, C>, id: string): Promise<boolean>;
  /** Delivers the entity's undelivered events, in order; one flush per entity at a time in this process. */
  flush(kind: string, id: string): Promise<void>;
  /** How many deadline timers this process holds (deadlines due within 15 minutes it committed). */
  timers(): number;
  /** Clears the deadline timers; deadlines left are fired by other processes' sweepers. */
  close(): void;
}

/** How often a command is decided again when other processes keep committing first. */
const MAX_ATTEMPTS = 16;
const OUTBOX_BATCH = 100;
/** Deadlines further away than this get no timer; the sweep fires them (at most ENTITY_SWEEP_MS late). */
const TIMER_HORIZON_MS = 15 * 60_000;

/**
 * @example
 * const runtime = createEntityRuntime({ store: redisEntityStore(redis, keys), deliver: sinkDelivery({ registry, sink }), logger });
 * const { state } = await runtime.apply(calls, callId, { type: "answer", by: "bob" });
 */
export function createEntityRuntime({ store, deliver, logger, now = Date.now, metrics = {} }: EntityRuntimeOptions): EntityRuntime {
  const flushing = new Map<string, Promise<void>>();
  /**
   * A timer at the deadline of each entity this process committed last with one due within
   * `TIMER_HORIZON_MS`: the deadline fires on time here, and the sweepers of every process are the
   * backstop when this one is gone (and fire the far ones).
   */
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  let closed = false;

  // biome-ignore lint/suspicious/noExplicitAny: a machine of any state and command type
  function hint(machine: Machine<any, any>, id: string, state: unknown): void {
    const key = `${machine.kind}\n${id}`;
    const at = state === null ? null : machine.deadlineOf(state);
    const current = timers.get(key);
    if (current?.at === at) return;
    if (current) {
      clearTimeout(current.timer);
      timers.delete(key);
    }
    // Far deadlines (a call's maximum duration) are left to the sweep: no timer per call for hours.
    if (at === null || closed || at - now() > TIMER_HORIZON_MS) return;
    const timer = setTimeout(
      () => {
        timers.delete(key);
        runtime
          .expire(machine, id)
          .catch((error: unknown) => logger.warn({ err: error, kind: machine.kind, id }, "entity deadline failed; the sweep retries it"));
      },
      Math.max(0, at - now()),
    );
    timers.set(key, { at, timer });
  }

  async function commit<S, C>(machine: Machine<S, C>, id: string, version: number, decision: Decision<S> & { ok: true }) {
    const state = decision.state;
    return store.commit({
      kind: machine.kind,
      id,
      expectedVersion: version,
      state: state === null ? null : JSON.stringify(state),
      deadline: state === null ? null : machine.deadlineOf(state),
      retainMs: state === null ? null : machine.retainMs(state),
      emissions: decision.emissions,
    });
  }

  async function deliverOutbox(kind: string, id: string): Promise<void> {
    for (;;) {
      const events = await store.outbox(kind, id, OUTBOX_BATCH);
      const delivered: string[] = [];
      try {
        for (const json of events) {
          await deliver(JSON.parse(json) as EntityEmission);
          delivered.push(json);
        }
      } finally {
        await store.ackOutbox(kind, id, delivered);
      }
      if (events.length < OUTBOX_BATCH) return;
    }
  }

  const runtime: EntityRuntime = {
    async apply<S, C>(machine: Machine<S, C>, id: string, command: C): Promise<Applied<S>> {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const { state, version } = await store.load<S>(machine.kind, id);
        const decision = machine.decide(state, command, now());
        if (!decision.ok) {
          metrics.command?.(machine.kind, "refused");
          throw new ProtocolError(decision.code, decision.reason);
        }
        if (decision.unchanged) {
          metrics.command?.(machine.kind, "unchanged");
          return { state, changed: false };
        }
        const committed = await commit(machine, id, version, decision);
        if (committed === "conflict") {
          metrics.conflict?.(machine.kind);
          continue;
        }
        metrics.command?.(machine.kind, "applied");
        hint(machine, id, decision.state);
        if (decision.emissions.length > 0) await runtime.flush(machine.kind, id).catch(() => undefined);
        return { state: decision.state, changed: true };
      }
      throw new ProtocolError("unavailable", `${machine.kind} ${id} is changing too fast; try again`);
    },
    async read<S, C>(machine: Machine<S, C>, id: string): Promise<S | null> {
      return (await store.load<S>(machine.kind, id)).state;
    },
    async expire<S, C>(machine: Machine<S, C>, id: string): Promise<boolean> {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const { state, version } = await store.load<S>(machine.kind, id);
        const at = now();
        const deadline = state === null ? null : machine.deadlineOf(state);
        if (deadline !== null && deadline > at) {
          hint(machine, id, state);
          return false;
        }
        // Commits keep the deadline set in step with the state, so a state without a deadline was
        // expired or changed since (a timer of an older deadline): nothing to do. A deadline left by
        // a state that is gone is cleared by committing the absence.
        if (state !== null && deadline === null) {
          hint(machine, id, state);
          return false;
        }
        const decision: Decision<S> = state === null ? { ok: true, state, emissions: [] } : machine.expire(state, at);
        if (!decision.ok) {
          logger.error({ kind: machine.kind, id, reason: decision.reason }, "entity deadline refused by its machine");
          return false;
        }
        const committed = await commit(machine, id, version, decision);
        if (committed === "conflict") {
          metrics.conflict?.(machine.kind);
          continue;
        }
        hint(machine, id, decision.state);
        if (deadline === null) return false;
        metrics.deadlineFired?.(machine.kind, Math.max(0, at - deadline));
        if (decision.emissions.length > 0) await runtime.flush(machine.kind, id).catch(() => undefined);
        return true;
      }
      return false;
    },
    flush(kind, id) {
      const key = `${kind}\n${id}`;
      const previous = flushing.get(key) ?? Promise.resolve();
      const next = previous
        .then(() => deliverOutbox(kind, id))
        .catch((error: unknown) => {
          metrics.deliveryFailed?.(kind);
          logger.warn({ err: error, kind, id }, "entity events not delivered yet; the sweeper delivers them again");
          throw error;
        });
      const settled = next.catch(() => undefined);
      flushing.set(key, settled);
      void settled.then(() => {
        if (flushing.get(key) === settled) flushing.delete(key);
      });
      return next;
    },
    timers: () => timers.size,
    close() {
      closed = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
  return runtime;
}
