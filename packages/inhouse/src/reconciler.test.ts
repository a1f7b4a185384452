import { Writable } from "node:stream";
import type { Queue, QueueCommand } from "@hub/events";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { memoryQueueStore } from "./memory-queue-store.js";
import { type QueueWorker, startQueueWorker } from "./queue-worker.js";
import { type ActiveQueues, planReconciliation, type ReadQueue, type SnapshotRefusal, startReconciler } from "./reconciler.js";
import type { Emission, ReconcileCommand } from "./transitions.js";

/**
 * The reconciler's plan from the backend's answer (pure), its sanity checks of that answer, and,
 * on the memory store with a real worker, a queue changed through the hub while the backend built
 * its answer.
 */

const NOW = 1_700_000_000_000;
const TIMEOUT = 60_000;
const settings = { now: NOW, checkInTimeoutMs: TIMEOUT };
type BackendQueue = ActiveQueues["queues"][number];
const backendQueue = (fields: Partial<BackendQueue> = {}): BackendQueue => ({
  id: "q",
  org_id: 42,
  status: "open",
  capacity: 4,
  players: [],
  version: 5,
  ...fields,
});
const players = (...ids: Array<string | number>) => ids.map((user_id) => ({ user_id, checked_in: false }));
const plan = (queues: BackendQueue[], before: Array<[string, ReadQueue]> = []) => planReconciliation({ queues }, new Map(before), settings);
const syncs = (commands: QueueCommand[]) => commands as ReconcileCommand[];

describe("planReconciliation", () => {
  it("creates or replaces listed queues with the version read (null: not active), closes unlisted active ones, skips newer and closed ones", () => {
    const { commands, refused, normalized } = plan(
      [backendQueue({ id: "new" }), backendQueue({ id: "older", version: 9 }), backendQueue({ id: "newer", version: 2 })],
      [
        ["42/older", { version: 3, closed: false }],
        ["42/newer", { version: 2, closed: false }],
        ["42/gone", { version: 7, closed: false }],
        ["42/shut", { version: 4, closed: true }],
      ],
    );
    expect(refused).toEqual([]);
    expect(normalized).toEqual([]);
    expect(syncs(commands)).toEqual([
      {
        id: "reconcile.42.new.v5.from.none",
        command: "sync",
        org_id: "42",
        queue_id: "new",
        snapshot: { status: "open", capacity: 4, players: [], check_in_deadline: null, version: 5 },
        based_on: null,
      },
      expect.objectContaining({ id: "reconcile.42.older.v9.from.3", queue_id: "older", based_on: 3 }),
      { id: "reconcile.42.gone.close.v7", command: "sync", org_id: "42", queue_id: "gone", snapshot: null, based_on: 7 },
    ]);
  });

  it.each<[string, BackendQueue, SnapshotRefusal]>([
    ["more players than capacity", backendQueue({ capacity: 2, players: players(1, 2, 3) }), "over_capacity"],
    [
      "more players than the default capacity",
      (({ capacity: _omitted, ...rest }) => rest)(backendQueue({ players: players(...Array.from({ length: 11 }, (_, i) => i)) })),
      "over_capacity",
    ],
    ["the same user twice (integer and string)", backendQueue({ players: players(7, "7") }), "duplicate_players"],
  ])("refuses a queue with %s: no command for it, and it is not closed either", (_name, queue, reason) => {
    const result = plan([queue], [["42/q", { version: 1, closed: false }]]);
    expect(result.commands).toEqual([]);
    expect(result.refused).toEqual([{ queue: "42/q", reason, detail: expect.any(String) }]);
  });

  it("gives a check-in without a deadline now + CHECK_IN_TIMEOUT_MS", () => {
    const { commands, normalized } = plan([
      backendQueue({
        status: "check_in",
        capacity: 2,
        players: [
          { user_id: 1, checked_in: true },
          { user_id: 2, checked_in: false },
        ],
      }),
    ]);
    expect(syncs(commands)[0]?.snapshot).toMatchObject({ status: "check_in", check_in_deadline: NOW + TIMEOUT });
    expect(normalized).toEqual([{ queue: "42/q", fixes: [expect.stringContaining("without a deadline")] }]);
  });

  it("moves an open queue at capacity to check-in with a deadline", () => {
    const { commands } = plan([backendQueue({ capacity: 2, players: players(1, 2) })]);
    expect(syncs(commands)[0]?.snapshot).toEqual({
      status: "check_in",
      capacity: 2,
      players: [
        { user_id: "1", checked_in: false },
        { user_id: "2", checked_in: false },
      ],
      check_in_deadline: NOW + TIMEOUT,
      version: 5,
    });
  });

  it("keeps a given check-in deadline, and drops one where nobody is waiting for check-ins", () => {
    const deadline = "2026-11-23T20:05:00Z";
    const waiting = plan([backendQueue({ status: "check_in", capacity: 2, players: players(1, 2), check_in_deadline: deadline })]);
    expect(syncs(waiting.commands)[0]?.snapshot?.check_in_deadline).toBe(Date.parse(deadline));
    expect(waiting.normalized).toEqual([]);
    const ready = plan([
      backendQueue({
        status: "check_in",
        capacity: 2,
        players: [1, 2].map((user_id) => ({ user_id, checked_in: true })),
        check_in_deadline: deadline,
      }),
    ]);
    expect(syncs(ready.commands)[0]?.snapshot?.check_in_deadline).toBeNull();
    const session = plan([backendQueue({ status: "in_session", check_in_deadline: NOW })]);
    expect(syncs(session.commands)[0]?.snapshot?.check_in_deadline).toBeNull();
  });
});

describe("startReconciler on the memory store", () => {
  let worker: QueueWorker | undefined;
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });

  function logCapture() {
    const logs: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    return { logs, logger: pino({ level: "info" }, sink) };
  }

  async function poll<T>(what: string, check: () => T | undefined): Promise<T> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it("a queue changed or opened through the hub while the backend built its answer is neither closed nor replaced", async () => {
    const store = memoryQueueStore();
    const published: Emission[] = [];
    const { logger, logs } = logCapture();
    worker = startQueueWorker({ store, logger, checkInTimeoutMs: TIMEOUT, sweepMs: 20, publish: async (e) => void published.push(e) });
    const base = { org_id: "42", user_id: undefined, capacity: undefined };
    const latest = (id: string) => published.filter((e) => (e.payload.queue as Queue).id === id).at(-1)?.payload.queue as Queue | undefined;
    await store.commands.enqueue([
      { ...base, id: "c1", command: "open", queue_id: "changed" },
      { ...base, id: "c2", command: "open", queue_id: "untouched" },
    ]);
    await poll("both queues open", () => (latest("changed") && latest("untouched") ? true : undefined));

    // The backend answers from a list it built before these commands were applied: it lists none of the queues.
    const refusedReasons: SnapshotRefusal[] = [];
    const reconciler = startReconciler({
      backendApiUrl: "http://backend.invalid",
      internalSecret: "a-test-internal-secret-0123456789abcdef",
      store,
      logger,
      checkInTimeoutMs: TIMEOUT,
      onRefused: (reason) => refusedReasons.push(reason),
      fetch: async () => {
        await store.commands.enqueue([
          { ...base, id: "c3", command: "join", queue_id: "changed", user_id: "late" },
          { ...base, id: "c4", command: "open", queue_id: "opened" },
        ]);
        await poll("the hub's changes applied", () => (latest("changed")?.version === 2 && latest("opened") ? true : undefined));
        return Response.json({ queues: [] });
      },
    });
    await reconciler.done;
    // A sentinel per queue: its update comes after anything the reconciliation changed.
    await store.commands.enqueue(
      ["changed", "untouched", "opened"].map((queue_id, i) => ({
        ...base,
        id: `s${i}`,
        command: "join" as const,
        queue_id,
        user_id: "sentinel",
      })),
    );
    const sentinelDone = (q: string) =>
      latest(q)?.players.some((p) => p.user_id === "sentinel") ||
      logs.some(
        (l) =>
          l.msg === "queue command refused" &&
          l.queue === `42/${q}` &&
          l.command_id === `s${["changed", "untouched", "opened"].indexOf(q)}`,
      );
    await poll("the sentinels", () => (["changed", "untouched", "opened"].every(sentinelDone) ? true : undefined));

    // Read before the hub changed it: the close is refused. Not active when read: not closed at all.
    expect(latest("changed")).toMatchObject({ status: "open", version: 3 });
    expect(latest("opened")).toMatchObject({ status: "open", version: 2 });
    // The unlisted queue nobody touched is closed as before (and the sentinel join is refused).
    expect(published.filter((e) => (e.payload.queue as Queue).id === "untouched").map((e) => (e.payload.queue as Queue).status)).toEqual([
      "open",
      "closed",
    ]);
    expect(logs.find((l) => l.msg === "queue command refused" && l.queue === "42/changed")).toMatchObject({
      command: "sync",
      reason: "the queue changed since the reconciler read it",
    });
    expect(refusedReasons).toEqual([]);
    reconciler.stop();
  });

  it("logs and counts the backend queues it refuses", async () => {
    const store = memoryQueueStore();
    const { logger, logs } = logCapture();
    const refusedReasons: SnapshotRefusal[] = [];
    const reconciler = startReconciler({
      backendApiUrl: "http://backend.invalid/",
      internalSecret: "a-test-internal-secret-0123456789abcdef",
      store,
      logger,
      checkInTimeoutMs: TIMEOUT,
      onRefused: (reason) => refusedReasons.push(reason),
      fetch: async () =>
        Response.json({
          queues: [
            backendQueue({ id: "crowded", capacity: 2, players: players(1, 2, 3) }),
            backendQueue({ id: "twice", players: players(1, 1) }),
            backendQueue({ id: "fine" }),
          ],
        }),
    });
    await reconciler.done;
    expect(refusedReasons).toEqual(["over_capacity", "duplicate_players"]);
    expect(logs.filter((l) => l.msg === "reconciler refused a backend queue").map((l) => [l.queue, l.reason])).toEqual([
      ["42/crowded", "over_capacity"],
      ["42/twice", "duplicate_players"],
    ]);
    expect(logs.find((l) => l.msg === "reconciled inhouse queues with the backend")).toMatchObject({
      backend_queues: 3,
      commands: 1,
      refused: 2,
    });
    expect(await store.activeQueues()).toEqual(["42/fine"]);
    reconciler.stop();
  });
});
