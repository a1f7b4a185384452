import type { Logger } from "pino";
import type { EntityRuntime } from "./entity-runtime.js";
import type { EntityStore } from "./entity-store.js";
import type { Machine } from "./machine.js";

export interface EntitySweeperOptions {
  runtime: EntityRuntime;
  store: EntityStore;
  // biome-ignore lint/suspicious/noExplicitAny: machines of every state and command type
  machines: ReadonlyArray<Machine<any, any>>;
  logger: Logger;
  /**
   * How often due deadlines are looked for. The process that committed a deadline fires it on time
   * (its runtime's timer); this is the most one fires late when that process died. @default 1000
   */
  sweepMs?: number;
  /** Events not delivered this long after their commit (their committer died) are delivered by the sweeper. @default 2000 */
  stalledAfterMs?: number;
  /** Deadlines applied at once. @default 64 */
  concurrency?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface EntitySweeper {
  /** Stops sweeping and waits for the pass under way. */
  close(): Promise<void>;
}

/**
 * Fires the entities' deadlines and delivers events their committer left behind. Every gateway
 * runs one, and they race for the same deadlines:
 * the version fence lets one commit win, so a deadline fires exactly once, and a process killed at
 * the deadline only leaves it to the others.
 *
 * @example
 * const sweeper = startEntitySweeper({ runtime, store, machines: [calls, huddles], logger });
 * await sweeper.close();
 */
export function startEntitySweeper(options: EntitySweeperOptions): EntitySweeper {
  const { runtime, store, machines, logger } = options;
  const now = options.now ?? Date.now;
  const sweepMs = options.sweepMs ?? 1_000;
  const stalledAfterMs = options.stalledAfterMs ?? 2_000;
  const concurrency = options.concurrency ?? 64;
  let pass: Promise<void> | undefined;
  let closed = false;
  /** Outboxes are looked at no more often than events count as stalled. */
  let stalledCheckedAt = 0;

  async function sweep(): Promise<void> {
    const checkStalled = now() - stalledCheckedAt >= stalledAfterMs / 2;
    if (checkStalled) stalledCheckedAt = now();
    for (const machine of machines) {
      // Random order: processes sweeping together start on different entities.
      const due = shuffle(await store.due(machine.kind, now(), 500));
      await inParallel(due, concurrency, (id) => runtime.expire(machine, id));
      if (!checkStalled) continue;
      const stalled = await store.stalled(machine.kind, now() - stalledAfterMs, 100);
      await inParallel(stalled, concurrency, (id) => runtime.flush(machine.kind, id));
    }
  }

  // While Redis is away every tick fails: told once when it starts failing, once when it works again.
  let failing = false;
  const timer = setInterval(() => {
    if (pass || closed) return;
    pass = sweep()
      .then(() => {
        if (failing) logger.info("entity sweep works again");
        failing = false;
      })
      .catch((error: unknown) => {
        if (!failing) logger.warn({ err: error }, "entity sweep failed; retried every tick until it works");
        failing = true;
      })
      .finally(() => {
        pass = undefined;
      });
  }, sweepMs);

  return {
    async close() {
      closed = true;
      clearInterval(timer);
      await pass;
    },
  };
}

/** Runs `task` over the items, at most `limit` at a time; a failed item does not stop the others. */
async function inParallel(items: readonly string[], limit: number, task: (item: string) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as string;
      await task(item).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
