import { Writable } from "node:stream";
import type { Queue, QueueCommand } from "@hub/events";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { memoryQueueStore } from "./memory-queue-store.js";
import type { QueueStore } from "./queue-store.js";
import { type FailureReason, type QueueWorker, startQueueWorker } from "./queue-worker.js";
import { decide, type Emission, expire } from "./transitions.js";

/**
 * The worker loop on the memory store: what a failure inside one queue's handling does. The state
 * machine is pure, so an exception there is about the command (skipped like a refusal, so that the
 * queue goes on); an exception from the store is transient (Redis away) and the run is retried from
 * the same cursor, nothing skipped.
 */

const ORG = "o1";
let seq = 0;
const command = (queue_id: string, name: "open" | "join", user_id?: string, id = `c${++seq}`): QueueCommand => ({
  id,
  command: name,
  org_id: ORG,
  queue_id,
  user_id,
  capacity: undefined,
});

interface Harness {
  store: QueueStore;
  worker: QueueWorker;
  published: Emission[];
  failures: FailureReason[];
  handled: string[];
  logs: Array<Record<string, unknown>>;
  /** The last `queue_updated` queue of `queue_id`, once one matches (bounded poll). */
  queue(queue_id: string, match: (q: Queue) => boolean): Promise<Queue>;
}

let running: QueueWorker[] = [];
afterEach(async () => {
  await Promise.all(running.map((w) => w.close()));
  running = [];
});

function start(options: { store?: QueueStore; decide?: typeof decide; expire?: typeof expire } = {}): Harness {
  const store = options.store ?? memoryQueueStore();
  const published: Emission[] = [];
  const failures: FailureReason[] = [];
  const handled: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const worker = startQueueWorker({
    store,
    logger: pino({ level: "info" }, sink),
    checkInTimeoutMs: 60_000,
    leaseTtlMs: 1_000,
    sweepMs: 20,
    publish: async (event) => void published.push(event),
    metrics: {
      failed: (reason) => failures.push(reason),
      commandHandled: (kind, outcome) => handled.push(`${kind}:${outcome}`),
    },
    transitions: { ...(options.decide ? { decide: options.decide } : {}), ...(options.expire ? { expire: options.expire } : {}) },
  });
  running.push(worker);
  const latest = (queue_id: string) =>
    published
      .filter((e) => e.type === "inhouse.queue_updated" && (e.payload.queue as Queue).id === queue_id)
      .map((e) => e.payload.queue as Queue)
      .at(-1);
  return {
    store,
    worker,
    published,
    failures,
    handled,
    logs,
    async queue(queue_id, match) {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const q = latest(queue_id);
        if (q && match(q)) return q;
        if (Date.now() > deadline) throw new Error(`queue ${queue_id} never matched; last: ${JSON.stringify(q)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** A state machine that throws on the command with this id, as a bug reached by one input would. */
const throwingOn =
  (id: string): typeof decide =>
  (current, cmd, settings) => {
    if (cmd.id === id) throw new TypeError("Cannot read properties of undefined (reading 'version')");
    return decide(current, cmd, settings);
  };

describe("startQueueWorker: failures inside one queue", () => {
  it("a command on which the state machine throws is skipped like a refusal: logged with queue and command id, counted; later commands of the queue and other queues apply", async () => {
    const h = start({ decide: throwingOn("poison") });
    await h.store.commands.enqueue([command("a", "open"), command("b", "open")]);
    await h.queue("a", (q) => q.version === 1);
    await h.queue("b", (q) => q.version === 1);

    await h.store.commands.enqueue([command("a", "join", "u0", "poison"), command("a", "join", "u1"), command("b", "join", "b1")]);
    // The command after the poison one applies, on top of the state before it.
    const a = await h.queue("a", (q) => q.version === 2);
    expect(a.players).toEqual([{ user_id: "u1", checked_in: false }]);
    expect((await h.queue("b", (q) => q.version === 2)).players).toEqual([{ user_id: "b1", checked_in: false }]);

    expect(h.failures).toEqual(["command_threw"]);
    expect(h.worker.stats).toMatchObject({ applied: 4, failures: 1 });
    expect(h.handled.filter((x) => x.endsWith(":failed"))).toEqual(["join:failed"]);
    const failed = h.logs.filter((l) => l.msg === "queue command failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 50, queue: `${ORG}/a`, org_id: ORG, command: "join", command_id: "poison" });
    expect(failed[0]?.err).toMatchObject({ message: expect.stringContaining("Cannot read properties of undefined") });
    // Nothing was emitted for it: one queue_updated per applied command.
    const versionsOfA = h.published.filter((e) => (e.payload.queue as Queue).id === "a").map((e) => (e.payload.queue as Queue).version);
    expect(versionsOfA).toEqual([1, 2]);
    // The cursor moved past it for good: no further attempt, nothing left to do.
    expect(await h.store.pendingWork([`${ORG}/a`])).toEqual([false]);
  });

  it("a check-in deadline on which the state machine throws is logged and counted; the queue's commands still apply", async () => {
    let calls = 0;
    const h = start({
      expire: (queue, at) => {
        if (queue?.id === "e" && queue.version === 2) {
          calls++;
          throw new Error("corrupt queue");
        }
        return expire(queue, at);
      },
    });
    await h.store.commands.enqueue([command("e", "open"), command("e", "join", "u1"), command("e", "join", "u2")]);
    expect((await h.queue("e", (q) => q.version === 3)).players.map((p) => p.user_id)).toEqual(["u1", "u2"]);
    expect(calls).toBeGreaterThan(0);
    expect(h.failures.every((r) => r === "expire_threw")).toBe(true);
    expect(h.failures.length).toBe(calls);
    expect(h.logs.find((l) => l.msg === "queue deadline failed")).toMatchObject({ queue: `${ORG}/e`, version: 2 });
  });

  it("a store error (Redis away) is not a poison command: the run is retried from the same cursor and the command applies", async () => {
    const store = memoryQueueStore();
    let failCommits = 2;
    const flaky: QueueStore = {
      ...store,
      async commit(lease, change) {
        if (change.name === `${ORG}/f` && change.queue?.players.length === 1 && failCommits > 0) {
          failCommits--;
          throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
        }
        return store.commit(lease, change);
      },
    };
    const h = start({ store: flaky });
    await h.store.commands.enqueue([command("f", "open"), command("f", "join", "u1"), command("f", "join", "u2")]);
    const f = await h.queue("f", (q) => q.version === 3);
    expect(f.players.map((p) => p.user_id)).toEqual(["u1", "u2"]);
    expect(failCommits).toBe(0);
    expect(h.failures).toEqual(["run_failed", "run_failed"]);
    expect(h.logs.filter((l) => l.msg === "queue run failed")).toHaveLength(2);
    expect(h.logs.filter((l) => l.msg === "queue command failed" || l.msg === "queue command refused")).toEqual([]);
  });

  it("a failed lease acquisition (could not take up queue) is counted and retried at the next sweep", async () => {
    const store = memoryQueueStore();
    let failAcquires = 1;
    const flaky: QueueStore = {
      ...store,
      async acquire(name, ttlMs) {
        if (failAcquires > 0) {
          failAcquires--;
          throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
        }
        return store.acquire(name, ttlMs);
      },
    };
    const h = start({ store: flaky });
    await h.store.commands.enqueue([command("t", "open")]);
    await h.queue("t", (q) => q.version === 1);
    expect(h.failures).toContain("take_up_failed");
    expect(h.logs.find((l) => l.msg === "could not take up queue")).toMatchObject({ queue: `${ORG}/t` });
  });
});
