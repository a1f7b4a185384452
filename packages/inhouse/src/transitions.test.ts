import { DEFAULT_CAPACITY, ID_SEGMENT, parseProducerEvent, type Queue, type QueueCommand, Router, SchemaRegistry } from "@hub/events";
import { describe, expect, it } from "vitest";
import { type Decision, decide, type Emission, expire, type ReconcileCommand, type TransitionSettings } from "./transitions.js";

/**
 * The queue state machine (docs/protocol.md "Inhouse queues"), pure: every transition of `decide` and
 * `expire`, every refusal, the version bump, and the events each change emits.
 */

const ORG = "o1";
const QUEUE = "q1";
const NOW = 1_700_000_000_000;
const TIMEOUT = 30_000;
const at = (now: number): TransitionSettings => ({ checkInTimeoutMs: TIMEOUT, now });
const SETTINGS = at(NOW);

type Name = Exclude<QueueCommand["command"], "sync">;
let nextId = 0;
function cmd(command: Name, fields: { user_id?: string; capacity?: number; org_id?: string; queue_id?: string } = {}): QueueCommand {
  return {
    id: `c${++nextId}`,
    command,
    org_id: fields.org_id ?? ORG,
    queue_id: fields.queue_id ?? QUEUE,
    user_id: fields.user_id,
    capacity: fields.capacity,
  };
}
function sync(snapshot: Extract<QueueCommand, { command: "sync" }>["snapshot"]): QueueCommand {
  return { id: `s${++nextId}`, command: "sync", org_id: ORG, queue_id: QUEUE, snapshot };
}

function queue(fields: Partial<Queue> = {}): Queue {
  return { id: QUEUE, org_id: ORG, status: "open", capacity: 4, players: [], check_in_deadline: null, version: 7, ...fields };
}
const player = (user_id: string, checked_in = false) => ({ user_id, checked_in });

/** Deep-frozen, so a transition that mutates its input throws. */
function frozen<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value;
}

function accepted(decision: Decision): { queue: Queue; emissions: Emission[] } {
  if (!decision.ok) throw new Error(`refused: ${decision.reason}`);
  return decision;
}
function refused(decision: Decision): string {
  if (decision.ok) throw new Error(`accepted: ${JSON.stringify(decision.queue)}`);
  return decision.reason;
}

/** Applies commands in order from `start`, each must be accepted. */
function run(start: Queue | null, commands: QueueCommand[], settings = SETTINGS): Queue {
  let current = start;
  for (const command of commands) current = accepted(decide(frozen(current), command, settings)).queue;
  if (!current) throw new Error("no queue");
  return current;
}

const updated = (q: Queue): Emission => ({
  id: `inhouse.${q.org_id}.${q.id}.v${q.version}.queue_updated`,
  type: "inhouse.queue_updated",
  org_id: q.org_id,
  payload: { queue: q },
});

describe("decide: open", () => {
  it("creates an empty open queue at version 1 with the default capacity", () => {
    const { queue: q, emissions } = accepted(decide(null, cmd("open"), SETTINGS));
    expect(q).toEqual({
      id: QUEUE,
      org_id: ORG,
      status: "open",
      capacity: DEFAULT_CAPACITY,
      players: [],
      check_in_deadline: null,
      version: 1,
    });
    expect(DEFAULT_CAPACITY).toBe(10);
    expect(emissions).toEqual([updated(q)]);
  });

  it("takes the capacity of the command", () => {
    expect(accepted(decide(null, cmd("open", { capacity: 2 }), SETTINGS)).queue.capacity).toBe(2);
  });

  it.each(["open", "check_in", "in_session"] as const)("is refused while the queue is %s", (status) => {
    expect(refused(decide(frozen(queue({ status })), cmd("open"), SETTINGS))).toMatch(status);
  });

  it("reopens a closed queue: empty, new capacity, the version continues", () => {
    const closed = queue({ status: "closed", players: [player("u1", true)], capacity: 4, version: 12 });
    const { queue: q, emissions } = accepted(decide(frozen(closed), cmd("open", { capacity: 6 }), SETTINGS));
    expect(q).toEqual({ id: QUEUE, org_id: ORG, status: "open", capacity: 6, players: [], check_in_deadline: null, version: 13 });
    expect(emissions).toEqual([updated(q)]);
  });
});

describe("decide: join", () => {
  it("adds the player, not checked in, version + 1, the queue stays open below capacity", () => {
    const before = queue({ players: [player("u1")] });
    const { queue: q, emissions } = accepted(decide(frozen(before), cmd("join", { user_id: "u2" }), SETTINGS));
    expect(q).toEqual({ ...before, players: [player("u1"), player("u2")], version: 8 });
    expect(emissions).toEqual([updated(q)]);
  });

  it("the join that fills the queue enters check-in with deadline = now + timeout", () => {
    const before = queue({ capacity: 3, players: [player("u1"), player("u2")] });
    const { queue: q } = accepted(decide(frozen(before), cmd("join", { user_id: "u3" }), at(NOW + 5)));
    expect(q).toEqual({
      ...before,
      status: "check_in",
      players: [player("u1"), player("u2"), player("u3")],
      check_in_deadline: NOW + 5 + TIMEOUT,
      version: 8,
    });
  });

  it("fills a queue of 10 from open: 10 joins, versions 2..11, check-in only on the 10th", () => {
    let q = run(null, [cmd("open")]);
    for (let i = 1; i <= 10; i++) {
      const next = run(q, [cmd("join", { user_id: `u${i}` })]);
      expect(next.version).toBe(q.version + 1);
      expect(next.status).toBe(i < 10 ? "open" : "check_in");
      expect(next.check_in_deadline).toBe(i < 10 ? null : NOW + TIMEOUT);
      q = next;
    }
    expect(q.players.map((p) => p.user_id)).toEqual(Array.from({ length: 10 }, (_, i) => `u${i + 1}`));
    expect(q.version).toBe(11);
  });

  it("is refused when the queue is full (check-in), for a duplicate, and when not open", () => {
    const full = queue({ capacity: 2, status: "check_in", players: [player("u1"), player("u2")], check_in_deadline: NOW });
    expect(refused(decide(frozen(full), cmd("join", { user_id: "u3" }), SETTINGS))).toBe("cannot join while check_in");
    expect(refused(decide(frozen(queue({ players: [player("u1")] })), cmd("join", { user_id: "u1" }), SETTINGS))).toBe(
      "already in the queue",
    );
    expect(refused(decide(frozen(queue({ status: "in_session" })), cmd("join", { user_id: "u9" }), SETTINGS))).toBe(
      "cannot join while in_session",
    );
    expect(refused(decide(null, cmd("join", { user_id: "u1" }), SETTINGS))).toBe("queue is not open");
    expect(refused(decide(frozen(queue({ status: "closed" })), cmd("join", { user_id: "u1" }), SETTINGS))).toBe("queue is not open");
  });
});

describe("decide: leave", () => {
  it("removes the player from an open queue", () => {
    const before = queue({ players: [player("u1"), player("u2")] });
    const { queue: q, emissions } = accepted(decide(frozen(before), cmd("leave", { user_id: "u1" }), SETTINGS));
    expect(q).toEqual({ ...before, players: [player("u2")], version: 8 });
    expect(emissions).toEqual([updated(q)]);
  });

  it("during check-in reopens the queue and clears the deadline", () => {
    const before = queue({ capacity: 2, status: "check_in", players: [player("u1", true), player("u2")], check_in_deadline: NOW + 10 });
    const { queue: q } = accepted(decide(frozen(before), cmd("leave", { user_id: "u2" }), SETTINGS));
    expect(q).toEqual({ ...before, status: "open", players: [player("u1", true)], check_in_deadline: null, version: 8 });
  });

  it("is refused for a player not in the queue, once the session started, and when the queue is not open", () => {
    expect(refused(decide(frozen(queue({ players: [player("u1")] })), cmd("leave", { user_id: "u2" }), SETTINGS))).toBe("not in the queue");
    const inSession = queue({ status: "in_session", capacity: 2, players: [player("u1", true), player("u2", true)] });
    expect(refused(decide(frozen(inSession), cmd("leave", { user_id: "u1" }), SETTINGS))).toBe("the session has started");
    expect(refused(decide(null, cmd("leave", { user_id: "u1" }), SETTINGS))).toBe("queue is not open");
    expect(refused(decide(frozen(queue({ status: "closed", players: [player("u1")] })), cmd("leave", { user_id: "u1" }), SETTINGS))).toBe(
      "queue is not open",
    );
  });
});

describe("decide: check_in", () => {
  const checkIn = (fields: Partial<Queue> = {}) =>
    queue({
      capacity: 3,
      status: "check_in",
      players: [player("u1"), player("u2"), player("u3")],
      check_in_deadline: NOW + 100,
      ...fields,
    });

  it("marks the player ready and keeps the deadline while others are not", () => {
    const before = checkIn();
    const { queue: q, emissions } = accepted(decide(frozen(before), cmd("check_in", { user_id: "u2" }), SETTINGS));
    expect(q).toEqual({ ...before, players: [player("u1"), player("u2", true), player("u3")], version: 8 });
    expect(emissions).toEqual([updated(q)]);
  });

  it("the last check-in clears the deadline; the queue stays in check_in, waiting for start_session", () => {
    const before = checkIn({ players: [player("u1", true), player("u2"), player("u3", true)] });
    const { queue: q } = accepted(decide(frozen(before), cmd("check_in", { user_id: "u2" }), SETTINGS));
    expect(q).toEqual({
      ...before,
      players: [player("u1", true), player("u2", true), player("u3", true)],
      check_in_deadline: null,
      version: 8,
    });
  });

  it("is refused outside check-in, for a stranger, twice, and when the queue is not open", () => {
    expect(refused(decide(frozen(queue({ players: [player("u1")] })), cmd("check_in", { user_id: "u1" }), SETTINGS))).toBe(
      "check-in is not open",
    );
    expect(refused(decide(frozen(checkIn()), cmd("check_in", { user_id: "u9" }), SETTINGS))).toBe("not in the queue");
    expect(refused(decide(frozen(checkIn({ players: [player("u1", true)] })), cmd("check_in", { user_id: "u1" }), SETTINGS))).toBe(
      "already checked in",
    );
    expect(refused(decide(null, cmd("check_in", { user_id: "u1" }), SETTINGS))).toBe("queue is not open");
  });
});

describe("decide: start_session", () => {
  const ready = queue({ capacity: 2, status: "check_in", players: [player("u1", true), player("u2", true)], check_in_deadline: null });

  it("moves a full, all checked-in queue to in_session and emits queue_updated then session_started", () => {
    const { queue: q, emissions } = accepted(decide(frozen(ready), cmd("start_session"), SETTINGS));
    expect(q).toEqual({ ...ready, status: "in_session", version: 8 });
    expect(emissions).toEqual([
      updated(q),
      { id: "inhouse.o1.q1.v8.session_started", type: "inhouse.session_started", org_id: ORG, payload: { queue: q } },
    ]);
  });

  it("is refused until everyone checked in, in an open queue, twice, and when not open", () => {
    const notReady = queue({ ...ready, players: [player("u1", true), player("u2")], check_in_deadline: NOW + 1 });
    expect(refused(decide(frozen(notReady), cmd("start_session"), SETTINGS))).toMatch(/everyone checked in/);
    // Everyone present is checked in, but the queue is not full (still open).
    expect(refused(decide(frozen(queue({ players: [player("u1", true)] })), cmd("start_session"), SETTINGS))).toMatch(/full queue/);
    expect(refused(decide(frozen({ ...ready, status: "in_session" }), cmd("start_session"), SETTINGS))).toMatch(/start_session/);
    expect(refused(decide(null, cmd("start_session"), SETTINGS))).toBe("queue is not open");
  });
});

describe("decide: close", () => {
  it.each([
    ["open", queue({ players: [player("u1")] })],
    ["check_in", queue({ capacity: 1, status: "check_in", players: [player("u1")], check_in_deadline: NOW + 1 })],
    ["in_session", queue({ capacity: 1, status: "in_session", players: [player("u1", true)] })],
  ])("closes a queue that is %s and clears its deadline", (_status, before) => {
    const { queue: q, emissions } = accepted(decide(frozen(before), cmd("close"), SETTINGS));
    expect(q).toEqual({ ...before, status: "closed", check_in_deadline: null, version: 8 });
    expect(emissions).toEqual([updated(q)]);
  });

  it("is refused for a closed or missing queue", () => {
    expect(refused(decide(frozen(queue({ status: "closed" })), cmd("close"), SETTINGS))).toBe("queue is not open");
    expect(refused(decide(null, cmd("close"), SETTINGS))).toBe("queue is not open");
  });
});

describe("expire", () => {
  const due = queue({
    capacity: 4,
    status: "check_in",
    players: [player("u1", true), player("u2"), player("u3", true), player("u4")],
    check_in_deadline: NOW,
  });

  it("at the deadline removes the players who did not check in, reopens, and emits check_in_expired { queue, removed }", () => {
    const { queue: q, emissions } = accepted(expire(frozen(due), NOW));
    expect(q).toEqual({ ...due, status: "open", players: [player("u1", true), player("u3", true)], check_in_deadline: null, version: 8 });
    expect(emissions).toEqual([
      updated(q),
      {
        id: "inhouse.o1.q1.v8.check_in_expired",
        type: "inhouse.check_in_expired",
        org_id: ORG,
        payload: { queue: q, removed: ["u2", "u4"] },
      },
    ]);
  });

  it("removes everyone when nobody checked in", () => {
    const nobody = { ...due, players: due.players.map((p) => player(p.user_id)) };
    const { queue: q, emissions } = accepted(expire(frozen(nobody), NOW + 1));
    expect(q.players).toEqual([]);
    expect(emissions[1]?.payload.removed).toEqual(["u1", "u2", "u3", "u4"]);
  });

  it("fires once: the expired queue is refused a second time", () => {
    const { queue: q } = accepted(expire(frozen(due), NOW + 50));
    expect(refused(expire(frozen(q), NOW + 60))).toBe("no check-in deadline");
  });

  it("is refused before the deadline", () => {
    expect(refused(expire(frozen(due), NOW - 1))).toBe("the deadline has not passed");
  });

  it("is refused when everyone checked in (no deadline), outside check-in, and without a queue", () => {
    const ready = run(due, [cmd("check_in", { user_id: "u2" }), cmd("check_in", { user_id: "u4" })]);
    expect(ready).toMatchObject({ status: "check_in", check_in_deadline: null });
    expect(refused(expire(frozen(ready), NOW + 1_000_000))).toBe("no check-in deadline");
    expect(refused(expire(frozen(queue()), NOW))).toBe("no check-in deadline");
    expect(refused(expire(frozen(queue({ status: "in_session" })), NOW))).toBe("no check-in deadline");
    expect(refused(expire(null, NOW))).toBe("no check-in deadline");
  });
});

describe("decide: sync (the backend's snapshot)", () => {
  const snapshot = {
    status: "check_in" as const,
    capacity: 2,
    players: [player("u1", true), player("u2")],
    check_in_deadline: NOW + 9,
    version: 20,
  };

  it("creates a missing queue from the snapshot, keeping the snapshot's version", () => {
    const { queue: q, emissions } = accepted(decide(null, sync(snapshot), SETTINGS));
    expect(q).toEqual({ id: QUEUE, org_id: ORG, ...snapshot });
    expect(emissions).toEqual([updated(q)]);
    expect(emissions[0]?.id).toBe("inhouse.o1.q1.v20.queue_updated");
  });

  it("replaces older local state with a newer snapshot", () => {
    const { queue: q } = accepted(decide(frozen(queue({ version: 19 })), sync(snapshot), SETTINGS));
    expect(q).toEqual({ id: QUEUE, org_id: ORG, ...snapshot });
  });

  it.each([20, 21])("leaves local state at version %i alone (as new or newer)", (version) => {
    expect(refused(decide(frozen(queue({ version })), sync(snapshot), SETTINGS))).toBe("local state is as new or newer");
  });

  it("a null snapshot closes the queue; refused when it is closed or missing", () => {
    const before = queue({ capacity: 1, status: "check_in", players: [player("u1")], check_in_deadline: NOW });
    const { queue: q } = accepted(decide(frozen(before), sync(null), SETTINGS));
    expect(q).toEqual({ ...before, status: "closed", check_in_deadline: null, version: 8 });
    expect(refused(decide(frozen(q), sync(null), SETTINGS))).toBe("already closed");
    expect(refused(decide(null, sync(null), SETTINGS))).toBe("already closed");
  });

  // A stream entry written by something other than the reconciler (a buggy producer writing to
  // Redis) once reached `snapshot.version` on undefined: a TypeError that wedged the queue.
  it.each([
    ["no snapshot", undefined, "missing"],
    ["a string", "open", "missing"],
    ["no status", { ...snapshot, status: undefined }, "status"],
    ["closed status", { ...snapshot, status: "closed" }, "status"],
    ["capacity 0", { ...snapshot, capacity: 0 }, "capacity"],
    ["players not a list", { ...snapshot, players: null }, "players"],
    ["a player without user_id", { ...snapshot, players: [{ checked_in: true }] }, "players"],
    ["a string deadline", { ...snapshot, check_in_deadline: "soon" }, "check_in_deadline"],
    ["no version", { ...snapshot, version: undefined }, "version"],
    ["a user listed twice", { ...snapshot, players: [player("u1"), player("u1")] }, "players (a user listed twice)"],
    ["more players than capacity", { ...snapshot, capacity: 1, players: [player("u1"), player("u2")] }, "players (more than capacity)"],
  ])("refuses a sync whose snapshot is malformed (%s) instead of throwing", (_name, bad, field) => {
    const command = { id: "s-bad", command: "sync", org_id: ORG, queue_id: QUEUE, snapshot: bad } as unknown as QueueCommand;
    for (const current of [null, frozen(queue({ version: 3 }))]) {
      expect(refused(decide(current, command, SETTINGS))).toBe(
        `invalid sync snapshot: ${field}${field === "missing" ? " (null closes the queue)" : ""}`,
      );
    }
  });

  describe("based_on: what the reconciler read before asking the backend", () => {
    const basedOn = (snap: typeof snapshot | null, based_on: number | null): ReconcileCommand => ({
      id: `s${++nextId}`,
      command: "sync",
      org_id: ORG,
      queue_id: QUEUE,
      snapshot: snap,
      based_on,
    });

    it("closes only the version it read: a queue changed since is left alone", () => {
      const read = frozen(queue({ version: 7 }));
      expect(accepted(decide(read, basedOn(null, 7), SETTINGS)).queue).toMatchObject({ status: "closed", version: 8 });
      const changedSince = frozen(queue({ version: 8, players: [player("late")] }));
      expect(refused(decide(changedSince, basedOn(null, 7), SETTINGS))).toBe("the queue changed since the reconciler read it");
    });

    it("replaces only the version it read, even with a newer snapshot", () => {
      expect(accepted(decide(frozen(queue({ version: 7 })), basedOn(snapshot, 7), SETTINGS)).queue.version).toBe(20);
      expect(refused(decide(frozen(queue({ version: 8 })), basedOn(snapshot, 7), SETTINGS))).toBe(
        "the queue changed since the reconciler read it",
      );
    });

    it("null (not active when read): creates the queue if it is still absent or closed, not if it was opened since", () => {
      expect(accepted(decide(null, basedOn(snapshot, null), SETTINGS)).queue.version).toBe(20);
      expect(accepted(decide(frozen(queue({ version: 4, status: "closed" })), basedOn(snapshot, null), SETTINGS)).queue.version).toBe(20);
      expect(refused(decide(frozen(queue({ version: 1 })), basedOn(snapshot, null), SETTINGS))).toBe(
        "the queue changed since the reconciler read it",
      );
    });
  });
});

describe("decide: entries that skipped the gateway's validation", () => {
  it.each(["join", "leave", "check_in"] as const)("refuses %s without user_id", (name) => {
    const current = frozen(queue({ status: name === "check_in" ? "check_in" : "open", players: [player("u1")] }));
    expect(refused(decide(current, cmd(name), SETTINGS))).toBe(`${name} needs user_id`);
  });
});

describe("versions and emissions", () => {
  it("a whole lifecycle bumps the version by exactly one per accepted change", () => {
    const commands = [
      cmd("open", { capacity: 3 }),
      cmd("join", { user_id: "a" }),
      cmd("join", { user_id: "b" }),
      cmd("leave", { user_id: "a" }),
      cmd("join", { user_id: "c" }),
      cmd("join", { user_id: "d" }),
      cmd("check_in", { user_id: "b" }),
      cmd("check_in", { user_id: "c" }),
      cmd("check_in", { user_id: "d" }),
      cmd("start_session"),
      cmd("close"),
      cmd("open"),
    ];
    let current: Queue | null = null;
    const versions: number[] = [];
    for (const command of commands) {
      current = accepted(decide(frozen(current), command, SETTINGS)).queue;
      versions.push(current.version);
    }
    expect(versions).toEqual(commands.map((_, i) => i + 1));
  });

  it("the same input always yields the same decision and the same event ids", () => {
    const before = queue({ capacity: 2, status: "check_in", players: [player("u1", true), player("u2")], check_in_deadline: NOW });
    const command = cmd("check_in", { user_id: "u2" });
    const first = accepted(decide(frozen(structuredClone(before)), command, SETTINGS));
    const second = accepted(decide(frozen(structuredClone(before)), command, SETTINGS));
    expect(second).toEqual(first);
    // A different command id does not change the event: the id is the queue's and its version's.
    expect(accepted(decide(frozen(structuredClone(before)), { ...command, id: "other" }, SETTINGS)).emissions).toEqual(first.emissions);
    expect(accepted(expire(frozen(structuredClone(before)), NOW)).emissions.map((e) => e.id)).toEqual(
      accepted(expire(frozen(structuredClone(before)), NOW + 999)).emissions.map((e) => e.id),
    );
  });

  it("ids differ by queue, org, version and type", () => {
    const ids = [
      accepted(decide(null, cmd("open"), SETTINGS)).emissions[0]?.id,
      accepted(decide(null, cmd("open", { queue_id: "q2" }), SETTINGS)).emissions[0]?.id,
      accepted(decide(null, cmd("open", { org_id: "o2" }), SETTINGS)).emissions[0]?.id,
      accepted(decide(frozen(queue({ status: "closed", version: 1 })), cmd("open"), SETTINGS)).emissions[0]?.id,
    ];
    expect(new Set(ids).size).toBe(4);
  });

  it("long org and queue ids get a hashed id, still deterministic, at most 128 characters, distinct per queue", () => {
    const long = "x".repeat(128);
    const a1 = accepted(decide(null, cmd("open", { org_id: long, queue_id: long }), SETTINGS)).emissions[0]?.id;
    const a2 = accepted(decide(null, cmd("open", { org_id: long, queue_id: long }), SETTINGS)).emissions[0]?.id;
    const b = accepted(decide(null, cmd("open", { org_id: long, queue_id: `${long.slice(1)}y` }), SETTINGS)).emissions[0]?.id;
    expect(a1).toBe(a2);
    expect(a1).not.toBe(b);
    expect(a1?.length).toBeLessThanOrEqual(128);
    expect(a1).toMatch(ID_SEGMENT);
  });

  it("every emission is a valid producer event routed to inhouse:{org_id} under its client event", () => {
    const registry = new SchemaRegistry();
    const router = new Router();
    const full = run(null, [cmd("open", { capacity: 2 }), cmd("join", { user_id: "u1" }), cmd("join", { user_id: "u2" })]);
    const expired = accepted(expire(frozen(full), NOW + TIMEOUT));
    const ready = run(expired.queue, [
      cmd("join", { user_id: "u1" }),
      cmd("join", { user_id: "u2" }),
      cmd("check_in", { user_id: "u1" }),
      cmd("check_in", { user_id: "u2" }),
    ]);
    const started = accepted(decide(frozen(ready), cmd("start_session"), SETTINGS));
    const emissions = [...expired.emissions, ...started.emissions];
    expect(emissions.map((e) => e.type)).toEqual([
      "inhouse.queue_updated",
      "inhouse.check_in_expired",
      "inhouse.queue_updated",
      "inhouse.session_started",
    ]);
    for (const emission of emissions) {
      expect(emission.id).toMatch(ID_SEGMENT);
      const event = parseProducerEvent(emission);
      expect(() => registry.validate(event)).not.toThrow();
      expect(router.route(event)).toEqual([
        { topic: `inhouse:${ORG}`, clientEvent: emission.type.slice("inhouse.".length), data: emission.payload },
      ]);
    }
  });
});
