import type { Decision } from "@hub/entities";
import { COMMANDS, type Queue, type QueueCommand } from "@hub/events";
import type { Logger } from "pino";
import { queueMachine } from "./machine.js";
import type { Lease, QueueStore, StoredQueue } from "./queue-store.js";
import type { decide, Emission, expire } from "./transitions.js";

export interface QueueWorkerOptions {
  store: QueueStore;
  /** Publishes one committed event through the hub's pipeline (its id deduplicates retries). */
  publish: (event: Emission) => Promise<unknown>;
  logger: Logger;
  checkInTimeoutMs: number;
  /** How long a lease lasts without renewal: the longest a dead owner's queue waits for another. @default 5000 */
  leaseTtlMs?: number;
  /** How often overdue deadlines and unowned queues are looked for. @default 500 */
  sweepMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Told what the worker does, for metrics. */
  metrics?: QueueWorkerMetrics;
  /**
   * The state machine, `decide` and `expire` of transitions.ts unless replaced (a test seam: a
   * transition that throws is handled like a refusal of its command, see the design note).
   */
  transitions?: Partial<Transitions>;
}

/** The pure state machine the worker applies. */
export interface Transitions {
  decide: typeof decide;
  expire: typeof expire;
}

/**
 * Why a queue's handling failed, for metrics:
 * - `command_threw`: the state machine threw on a command; the command is skipped like a refusal;
 * - `expire_threw`: it threw on a check-in deadline; the expiry is skipped (retried on the next run);
 * - `run_failed`: the store or the pipeline failed during a queue's run (Redis down); the run is retried;
 * - `take_up_failed`: taking a queue's lease failed (Redis down); retried at the next sweep;
 * - `sweep_failed`, `renew_failed`: a periodic pass failed; retried at the next tick.
 */
export const FAILURE_REASONS = ["command_threw", "expire_threw", "run_failed", "take_up_failed", "sweep_failed", "renew_failed"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** What a queue command is counted as: its name, `expire` for a check-in deadline, `other` for names this version does not know. */
export type CommandKind = QueueCommand["command"] | "expire" | "unreadable" | "other";

/** Hooks a worker calls as it works; each must be cheap and must not throw. */
export interface QueueWorkerMetrics {
  /** A command (or an expired deadline) was applied, refused by the state machine, or skipped because the state machine threw on it. */
  commandHandled?(kind: CommandKind, outcome: "applied" | "refused" | "failed"): void;
  /** A check-in deadline was applied `latenessMs` after it was due (the sweep, a late wake-up or a failover delay it). */
  deadlineFired?(latenessMs: number): void;
  /** Something failed (logged with the queue where there is one); see `FailureReason`. */
  failed?(reason: FailureReason): void;
}

const KNOWN_COMMANDS: ReadonlySet<string> = new Set<string>([...COMMANDS, "sync"]);

/** What the worker did, for metrics and tests. */
export interface QueueWorkerStats {
  applied: number;
  refused: number;
  expired: number;
  /** Every failure counted by `QueueWorkerMetrics.failed`, whatever its reason. */
  failures: number;
  leasesLost: number;
}

interface Held {
  lease: Lease;
  /** Runs of this queue, one after the other: the queue's actor. */
  chain: Promise<void>;
  /** Wake-up hint at the check-in deadline; the deadline itself lives in the store. */
  timer: NodeJS.Timeout | undefined;
  /** A run is scheduled and has not started: more wake-ups fold into it. */
  queued: boolean;
}

export interface QueueWorker {
  readonly stats: QueueWorkerStats;
  /** Names of the queues this worker holds. */
  owned(): string[];
  /** Stops sweeping, finishes running work, releases every lease. */
  close(): Promise<void>;
}

const BATCH = 100;

/** What the queue's machine answers. */
type QueueDecision = Decision<Queue, Emission>;

/**
 * Runs inhouse queues as actors: each queue is owned by one worker at a time (a lease in the store),
 * processes its commands in stream order, and fires its check-in deadline. Every write is fenced by
 * the lease and the version read, so a worker that lost its lease (paused, partitioned) cannot
 * change a queue. Events are committed to an outbox with the change and published after it.
 */
export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const leaseTtlMs = options.leaseTtlMs ?? 5_000;
  const sweepMs = options.sweepMs ?? 500;
  const held = new Map<string, Held>();
  const acquiring = new Set<string>();
  const stats: QueueWorkerStats = { applied: 0, refused: 0, expired: 0, failures: 0, leasesLost: 0 };
  const metrics = options.metrics ?? {};
  // The queue's state machine, through the entity runtime's Machine interface.
  const machine = queueMachine({
    checkInTimeoutMs: options.checkInTimeoutMs,
    ...(options.transitions ? { transitions: options.transitions } : {}),
  });
  let closed = false;
  let sweeps = 0;

  async function poke(name: string): Promise<void> {
    if (closed) return;
    if (!held.has(name)) {
      if (acquiring.has(name)) return;
      acquiring.add(name);
      try {
        const lease = await store.acquire(name, leaseTtlMs);
        if (!lease || closed) {
          if (lease) await store.release(lease);
          return;
        }
        held.set(name, { lease, chain: Promise.resolve(), timer: undefined, queued: false });
        logger.debug({ queue: name }, "queue lease acquired");
      } finally {
        acquiring.delete(name);
      }
    }
    schedule(name);
  }

  function schedule(name: string): void {
    const h = held.get(name);
    if (!h || h.queued) return;
    h.queued = true;
    h.chain = h.chain
      .then(() => {
        h.queued = false;
        return run(name);
      })
      .catch((error: unknown) => {
        // The store or the pipeline failed (Redis away, a publish not accepted): nothing was
        // skipped, the cursor is where it was; the next wake-up or sweep (within a second) reruns it.
        failure("run_failed");
        logger.error({ err: error, queue: name }, "queue run failed");
      });
  }

  function failure(reason: FailureReason): void {
    stats.failures++;
    metrics.failed?.(reason);
  }

  /**
   * The state machine's expiry of the current queue at `at`. It is pure, so an exception is a bug
   * or a corrupt queue, never a passing condition: logged, counted, and treated as "nothing to
   * expire" so that the queue's commands still run (the next run tries the deadline again).
   */
  function expiryOf(name: string, queue: Queue | null, at: number): QueueDecision {
    try {
      // The machine refuses an expiry with nothing to expire (no deadline, or not passed yet).
      return queue === null ? { ok: false, code: "bad_request", reason: "no check-in deadline" } : machine.expire(queue, at);
    } catch (error) {
      failure("expire_threw");
      logger.error({ err: error, queue: name, org_id: queue?.org_id, version: queue?.version }, "queue deadline failed");
      return { ok: false, code: "internal", reason: "expire threw" };
    }
  }

  /** Forgets a queue, if `h` is still the entry held for it (a stale run must not drop a newer lease). */
  function drop(h: Held, reason: string): void {
    const name = h.lease.name;
    if (held.get(name) !== h) return;
    if (h.timer) clearTimeout(h.timer);
    held.delete(name);
    logger.info({ queue: name, reason }, "queue released");
  }

  async function run(name: string): Promise<void> {
    const h = held.get(name);
    if (!h || closed) return;
    let stored = await store.load(name);
    if (!(await flushOutbox(h))) return;

    // A version conflict (should not happen under a lease) reloads and starts the batch again.
    batches: for (;;) {
      const pending = await store.pending(name, stored.cursor, BATCH);
      for (const { cursor, command, acceptedAt } of pending) {
        // A deadline that passed before this command was accepted fires first: a check-in that
        // arrived late stays late, however late its owner gets to it (crash, restart).
        const lapsed = expiryOf(name, stored.queue, acceptedAt);
        if (lapsed.ok) {
          const next = await commit(h, stored, lapsed, stored.cursor);
          if (next === undefined) return;
          if (next === "conflict") {
            stored = await store.load(name);
            continue batches;
          }
          expired(stored);
          stored = next;
        }
        // decide is pure: an exception is about this command (or a bug it hits), and retrying it
        // would throw again and hold up every later command of the queue. It is skipped like a
        // refusal: the cursor moves past it, nothing changes, nothing is emitted. Store errors are
        // not caught here: they abort the run, which is retried from the same cursor.
        let thrown: unknown;
        let decision: QueueDecision;
        if (!command) decision = { ok: false, code: "bad_request", reason: "unreadable command" };
        else {
          try {
            decision = machine.decide(stored.queue, command, now());
          } catch (error) {
            thrown = error ?? new Error("thrown without a value");
            decision = { ok: false, code: "internal", reason: `the state machine threw: ${(error as Error)?.message ?? String(error)}` };
          }
        }
        const next = await commit(h, stored, decision, cursor);
        if (next === undefined) return;
        if (next === "conflict") {
          stored = await store.load(name);
          continue batches;
        }
        metrics.commandHandled?.(kindOf(command), decision.ok ? "applied" : thrown === undefined ? "refused" : "failed");
        if (decision.ok) stats.applied++;
        else if (thrown !== undefined) {
          failure("command_threw");
          logger.error(
            { err: thrown, queue: name, org_id: command?.org_id, command: command?.command, command_id: command?.id },
            "queue command failed",
          );
        } else {
          stats.refused++;
          logger.info(
            { queue: name, org_id: command?.org_id, command: command?.command, command_id: command?.id, reason: decision.reason },
            "queue command refused",
          );
        }
        stored = next;
      }
      if (pending.length < BATCH) break;
    }

    const expiry = expiryOf(name, stored.queue, now());
    if (expiry.ok) {
      const next = await commit(h, stored, expiry, stored.cursor);
      if (next === undefined || next === "conflict") return;
      expired(stored);
      stored = next;
    }
    hint(name, h, stored);
    // A closed queue is done; one that was never opened (every command of it refused: a made-up id) too.
    const finished = machine.finished(stored.queue);
    if (finished && (await store.retire(h.lease, stored.cursor))) drop(h, "retired");
  }

  /** Counts a committed expiry of the check-in deadline `stored` had. */
  function expired(stored: StoredQueue): void {
    stats.expired++;
    metrics.commandHandled?.("expire", "applied");
    const deadline = stored.queue === null ? null : machine.deadlineOf(stored.queue);
    if (deadline !== null) metrics.deadlineFired?.(Math.max(0, now() - deadline));
  }

  /** Commits a decision and publishes its events; undefined when the lease is gone. */
  async function commit(
    h: Held,
    stored: StoredQueue,
    decision: QueueDecision,
    cursor: string,
  ): Promise<StoredQueue | "conflict" | undefined> {
    const result = await store.commit(h.lease, {
      name: h.lease.name,
      expectedVersion: stored.version,
      queue: decision.ok ? decision.state : null,
      cursor,
      emissions: decision.ok ? decision.emissions : [],
    });
    if (result === "lease_lost") {
      stats.leasesLost++;
      drop(h, "lease lost");
      return undefined;
    }
    if (result === "conflict") return "conflict";
    if (!(await flushOutbox(h))) return undefined;
    if (!decision.ok || decision.state === null) return { ...stored, cursor };
    return { queue: decision.state, version: decision.state.version, cursor };
  }

  /** Publishes what the outbox holds, in order; false when the lease was lost meanwhile. */
  async function flushOutbox(h: Held): Promise<boolean> {
    const events = await store.outbox(h.lease);
    if (events === null) {
      drop(h, "lease lost");
      return false;
    }
    if (events.length === 0) return true;
    for (const event of events) {
      try {
        await options.publish(event);
      } catch (error) {
        // A rejected event is in the dead-letter queue; anything else is retried on the next run.
        if ((error as { name?: string }).name !== "PublishError") throw error;
        logger.error(
          { err: error, queue: h.lease.name, org_id: event.org_id, event_type: event.type, event_id: event.id },
          "queue event rejected by the pipeline",
        );
      }
    }
    if (await store.ackOutbox(h.lease, events.length)) return true;
    drop(h, "lease lost");
    return false;
  }

  function hint(name: string, h: Held, stored: StoredQueue): void {
    if (h.timer) clearTimeout(h.timer);
    h.timer = undefined;
    const deadline = stored.queue === null ? null : machine.deadlineOf(stored.queue);
    if (deadline === null) return;
    h.timer = setTimeout(() => schedule(name), Math.max(0, deadline - now()) + 5);
  }

  /** Pokes a queue in the background; a failure (Redis down) is logged, the next sweep retries. */
  function wake(name: string): void {
    poke(name).catch((error: unknown) => {
      failure("take_up_failed");
      logger.warn({ err: error, queue: name }, "could not take up queue");
    });
  }

  async function sweep(): Promise<void> {
    sweeps++;
    for (const name of await store.dueDeadlines(now(), 100)) wake(name);
    if (sweeps % 2 === 0) await takeUp();
  }

  /**
   * The pass over every active queue: takes up those nobody holds (their owner died) and reruns held
   * ones with work left, so a lost wake-up or a failed run (say, Redis was briefly away) costs a
   * second, not forever. Both are bulk reads: queues held elsewhere or idle cost no round trip each.
   */
  async function takeUp(): Promise<void> {
    const active = await store.activeQueues();
    const free = await store.unleased(active.filter((name) => !held.has(name) && !acquiring.has(name)));
    // Random order: workers sweeping together race for different queues first.
    for (const name of shuffle(free)) wake(name);
    const mine = [...held.keys()];
    const work = await store.pendingWork(mine);
    mine.forEach((name, i) => {
      if (work[i]) schedule(name);
    });
  }

  let renewing = false;
  async function renew(): Promise<void> {
    // A pass still waiting on Redis must not be doubled by the next tick.
    if (renewing) return;
    renewing = true;
    try {
      const all = [...held.values()];
      const kept = await store.extend(
        all.map((h) => h.lease),
        leaseTtlMs,
      );
      all.forEach((h, i) => {
        // Only the entry renewed: a queue retired or taken again meanwhile is not a lost lease.
        if (kept[i] || held.get(h.lease.name) !== h) return;
        stats.leasesLost++;
        drop(h, "lease lost");
      });
    } finally {
      renewing = false;
    }
  }

  const guard = (what: string, reason: FailureReason, task: () => Promise<void>) => () => {
    task().catch((error: unknown) => {
      failure(reason);
      logger.warn({ err: error }, `${what} failed`);
    });
  };
  store.onWake(wake);
  const sweeper = setInterval(guard("deadline sweep", "sweep_failed", sweep), sweepMs);
  const renewer = setInterval(guard("lease renewal", "renew_failed", renew), Math.max(50, Math.floor(leaseTtlMs / 3)));
  guard("initial sweep", "sweep_failed", takeUp)();

  return {
    stats,
    owned: () => [...held.keys()],
    async close() {
      closed = true;
      clearInterval(sweeper);
      clearInterval(renewer);
      const all = [...held.values()];
      await Promise.allSettled(all.map((h) => h.chain));
      for (const h of all) if (h.timer) clearTimeout(h.timer);
      await Promise.allSettled(all.map((h) => store.release(h.lease)));
      held.clear();
    },
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

function kindOf(command: QueueCommand | null): CommandKind {
  if (!command) return "unreadable";
  return KNOWN_COMMANDS.has(command.command) ? command.command : "other";
}
