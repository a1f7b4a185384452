import { type Decision as EntityDecision, type Machine, refuse } from "@hub/entities";
import type { Queue, QueueCommand } from "@hub/events";
import { type Decision, decide, type Emission, expire } from "./transitions.js";

/** The inhouse queue as a machine of the entity runtime, run by the leased queue worker. */
export interface QueueMachine extends Machine<Queue, QueueCommand, Emission> {
  /** Whether a queue is done (closed, or never opened): its worker retires it. */
  finished(queue: Queue | null): boolean;
}

export interface QueueMachineOptions {
  checkInTimeoutMs: number;
  /** The pure functions it applies: `decide` and `expire` of transitions.ts unless replaced (a test seam). */
  transitions?: { decide?: typeof decide; expire?: typeof expire };
}

/**
 * The queue state machine of transitions.ts behind the runtime's `Machine` interface, so inhouse
 * queues, calls and huddles are three machines of one shape. A refusal is `bad_request` with the
 * state machine's reason (the worker logs it; clients learn outcomes from `queue_updated`).
 *
 * @example
 * const machine = queueMachine({ checkInTimeoutMs: 60_000 });
 * machine.decide(null, { id: "c1", command: "open", org_id: "42", queue_id: "q1" }, Date.now());
 */
export function queueMachine({ checkInTimeoutMs, transitions = {} }: QueueMachineOptions): QueueMachine {
  const decideNext = transitions.decide ?? decide;
  const expireAt = transitions.expire ?? expire;
  return {
    kind: "inhouse",
    decide: (queue, command, now) => asEntityDecision(decideNext(queue, command, { checkInTimeoutMs, now })),
    expire: (queue, now) => asEntityDecision(expireAt(queue, now)),
    deadlineOf: (queue) => (queue.status === "check_in" ? queue.check_in_deadline : null),
    retainMs: () => null,
    finished: (queue) => queue === null || queue.status === "closed",
  };
}

function asEntityDecision(decision: Decision): EntityDecision<Queue, Emission> {
  return decision.ok ? { ok: true, state: decision.queue, emissions: decision.emissions } : refuse("bad_request", decision.reason);
}
