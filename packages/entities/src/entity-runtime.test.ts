import { ProtocolError } from "@hub/events";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createEntityRuntime, type EntityMetrics } from "./entity-runtime.js";
import { ENTITY_TOMBSTONE_MS, type EntityChange, type EntityStore } from "./entity-store.js";
import type { EntityEmission } from "./machine.js";
import type { Call, CallCommand } from "./machines/calls/call.js";
import { callMachine } from "./machines/calls/machine.js";
import type { Huddle } from "./machines/huddles/huddle.js";
import { huddleMachine } from "./machines/huddles/machine.js";
import { memoryEntityStore } from "./memory-entity-store.js";

const RING = 1_000;
const logger = pino({ level: "silent" });
const calls = callMachine({ ringTimeoutMs: RING, retainMs: 5_000 });
const huddles = huddleMachine({ graceMs: 1_000 });
const initiate: CallCommand = { type: "initiate", call_id: "c1", by: "alice", org_id: "o1", to: "bob", media: "audio" };

/** Runtimes made by `setup`, closed after each test (their deadline timers run on the real clock). */
const made: Array<{ close(): void }> = [];
afterEach(() => {
  for (const runtime of made.splice(0)) runtime.close();
});

/** A clock the test moves, a memory store on it, and a runtime recording what it delivers. */
function setup(options: { store?: EntityStore; deliver?: (e: EntityEmission) => Promise<void> } = {}) {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const store = options.store ?? memoryEntityStore(now);
  const delivered: EntityEmission[] = [];
  const counts = { conflict: 0, refused: 0, unchanged: 0, applied: 0, fired: 0, failed: 0 };
  const metrics: EntityMetrics = {
    command: (_kind, outcome) => void counts[outcome]++,
    conflict: () => void counts.conflict++,
    deadlineFired: () => void counts.fired++,
    deliveryFailed: () => void counts.failed++,
  };
  const deliver =
    options.deliver ??
    (async (e: EntityEmission) => {
      delivered.push(e);
    });
  const runtime = createEntityRuntime({ store, deliver, logger, now, metrics });
  made.push(runtime);
  return { clock, store, runtime, delivered, counts };
}

const summary = (events: EntityEmission[]) => events.map((e) => `${e.event}>${e.topic}`);

describe("entity runtime: apply", () => {
  it("commits the state with its deadline and delivers the events in order", async () => {
    const { runtime, store, delivered, clock } = setup();
    const first = await runtime.apply(calls, "c1", initiate);
    expect(first).toMatchObject({ changed: true, state: { status: "ringing", ring_deadline: clock.now + RING } });
    expect(await store.due("call", clock.now + RING, 10)).toEqual(["c1"]);
    await runtime.apply(calls, "c1", { type: "answer", by: "bob", org_id: "o1" });
    expect(summary(delivered)).toEqual(["call:incoming>webrtc:bob", "call:answered>webrtc:alice", "call:answered>webrtc:bob"]);
    expect((await runtime.read<Call, CallCommand>(calls, "c1"))?.status).toBe("active");
    expect(await store.load("call", "c1")).toMatchObject({ version: 1 });
    // Answered: the ring timeout is gone (the next deadline is the call's maximum duration, hours away), nothing left to deliver.
    expect(await store.due("call", clock.now + RING, 10)).toEqual([]);
    expect(await store.outbox("call", "c1", 10)).toEqual([]);
    expect(await store.stalled("call", Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it("a refusal throws ProtocolError with the machine's code and commits nothing", async () => {
    const { runtime, store, delivered, counts } = setup();
    await runtime.apply(calls, "c1", initiate);
    const before = await store.load("call", "c1");
    const error = await runtime.apply(calls, "c1", { type: "answer", by: "alice", org_id: "o1" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("forbidden");
    await expect(runtime.apply(calls, "c1", initiate)).rejects.toMatchObject({ code: "id_conflict" });
    expect(await store.load("call", "c1")).toEqual(before);
    expect(delivered).toHaveLength(1);
    expect(counts.refused).toBe(2);
  });

  it("an unchanged answer commits nothing", async () => {
    const commits: EntityChange[] = [];
    const inner = memoryEntityStore();
    const store: EntityStore = {
      ...inner,
      commit(change) {
        commits.push(change);
        return inner.commit(change);
      },
    };
    const { runtime, counts } = setup({ store });
    const create = { type: "create", huddle_id: "h1", by: "alice", org_id: "o1", conversation_id: "conv", max: 5 } as const;
    expect((await runtime.apply(huddles, "conv", create)).changed).toBe(true);
    const again = await runtime.apply(huddles, "conv", { ...create, huddle_id: "h2" });
    expect(again.changed).toBe(false);
    expect((again.state as Huddle).id).toBe("h1");
    expect(commits).toHaveLength(1);
    expect(counts).toMatchObject({ applied: 1, unchanged: 1 });
  });

  it("a concurrent commit makes it decide again on the new state", async () => {
    const inner = memoryEntityStore(() => 1_000_000);
    let interfere = false;
    const store: EntityStore = {
      ...inner,
      async commit(change) {
        if (interfere) {
          interfere = false;
          // Another process toggles alice's microphone between this one's read and its commit.
          const { state, version } = await inner.load<Call>("call", "c1");
          const toggled = calls.decide(state, { type: "toggle", by: "alice", org_id: "o1", media: "audio", enabled: false }, 1_000_000);
          if (!toggled.ok || toggled.state === null) throw new Error("toggle refused");
          await inner.commit({ ...change, expectedVersion: version, state: JSON.stringify(toggled.state), emissions: toggled.emissions });
        }
        return inner.commit(change);
      },
    };
    const { runtime, delivered, counts } = setup({ store });
    await runtime.apply(calls, "c1", initiate);
    interfere = true;
    const { state } = await runtime.apply<Call, CallCommand>(calls, "c1", { type: "answer", by: "bob", org_id: "o1" });
    expect(counts.conflict).toBe(1);
    expect(state).toMatchObject({ status: "active", audio: { alice: false, bob: true }, seq: 2 });
    expect(await inner.load("call", "c1")).toMatchObject({ version: 2, state: { status: "active", audio: { alice: false } } });
    expect(summary(delivered)).toEqual([
      "call:incoming>webrtc:bob",
      "call:toggle-audio>webrtc:bob",
      "call:answered>webrtc:alice",
      "call:answered>webrtc:bob",
    ]);
  });
});

describe("entity runtime: expire", () => {
  it("does nothing before the deadline", async () => {
    const { runtime, clock, delivered } = setup();
    await runtime.apply(calls, "c1", initiate);
    clock.now += RING - 1;
    expect(await runtime.expire(calls, "c1")).toBe(false);
    expect((await runtime.read<Call, CallCommand>(calls, "c1"))?.status).toBe("ringing");
    expect(delivered).toHaveLength(1);
  });

  it("fires once when two runtimes race on one store; its events are delivered once", async () => {
    const clock = { now: 1_000_000 };
    const store = memoryEntityStore(() => clock.now);
    const one = setup({ store });
    const two = setup({ store });
    one.clock.now = two.clock.now = clock.now;
    await one.runtime.apply(calls, "c1", initiate);
    one.clock.now = two.clock.now = clock.now = clock.now + RING;
    const fired = await Promise.all([one.runtime.expire(calls, "c1"), two.runtime.expire(calls, "c1")]);
    expect(fired.filter(Boolean)).toHaveLength(1);
    const missed = [...one.delivered, ...two.delivered].filter((e) => e.event === "call:missed");
    expect(summary(missed).sort()).toEqual(["call:missed>webrtc:alice", "call:missed>webrtc:bob"]);
    expect(one.counts.fired + two.counts.fired).toBe(1);
    expect((await store.load<Call>("call", "c1")).state?.status).toBe("missed");
    expect(await store.due("call", Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    // Nothing left for a later attempt.
    expect(await one.runtime.expire(calls, "c1")).toBe(false);
  });

  it("a deadline left behind by a deleted entity is cleared without firing", async () => {
    const { runtime, store, clock, delivered } = setup();
    await store.commit({
      kind: "call",
      id: "gone",
      expectedVersion: -1,
      state: null,
      deadline: clock.now - 1,
      retainMs: null,
      emissions: [],
    });
    expect(await store.due("call", clock.now, 10)).toEqual(["gone"]);
    expect(await runtime.expire(calls, "gone")).toBe(false);
    expect(await store.due("call", clock.now, 10)).toEqual([]);
    expect(delivered).toEqual([]);
  });
});

describe("entity runtime: outbox", () => {
  it("a failing delivery leaves the events in the outbox; a later flush delivers them in order exactly once", async () => {
    const delivered: EntityEmission[] = [];
    let failing = true;
    const deliver = async (e: EntityEmission) => {
      // The first event goes out, the second fails.
      if (failing && delivered.length === 1) throw new Error("sink down");
      delivered.push(e);
    };
    const { runtime, store, counts } = setup({ deliver });
    await runtime.apply(calls, "c1", initiate);
    await runtime.apply(calls, "c1", { type: "reject", by: "bob", org_id: "o1" });
    expect(summary(delivered)).toEqual(["call:incoming>webrtc:bob"]);
    expect(counts.failed).toBe(1);
    const left = await store.outbox("call", "c1", 10);
    expect(left.map((json) => (JSON.parse(json) as EntityEmission).topic)).toEqual(["webrtc:alice", "webrtc:bob"]);
    expect(await store.stalled("call", Number.MAX_SAFE_INTEGER, 10)).toEqual(["c1"]);

    failing = false;
    await Promise.all([runtime.flush("call", "c1"), runtime.flush("call", "c1")]);
    await runtime.flush("call", "c1");
    expect(summary(delivered)).toEqual(["call:incoming>webrtc:bob", "call:rejected>webrtc:alice", "call:rejected>webrtc:bob"]);
    expect(await store.outbox("call", "c1", 10)).toEqual([]);
    expect(await store.stalled("call", Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it("acks by identity: events committed while a delivery was under way stay until delivered", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const delivered: EntityEmission[] = [];
    const deliver = async (e: EntityEmission) => {
      if (e.event === "call:incoming") await gate;
      delivered.push(e);
    };
    const { runtime, store } = setup({ deliver });
    const initiated = runtime.apply(calls, "c1", initiate);
    // The incoming event is being delivered: the callee answers meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const answered = runtime.apply(calls, "c1", { type: "answer", by: "bob", org_id: "o1" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await store.outbox("call", "c1", 10)).toHaveLength(3);
    release();
    await Promise.all([initiated, answered]);
    expect(summary(delivered)).toEqual(["call:incoming>webrtc:bob", "call:answered>webrtc:alice", "call:answered>webrtc:bob"]);
    expect(await store.outbox("call", "c1", 10)).toEqual([]);
  });
});

describe("memory entity store", () => {
  it("a change decided on an ended entity never commits onto a new one at the same id", async () => {
    // Two sweepers race to end an empty huddle; the conversation gets a new huddle between the
    // winner's commit and the loser's, which was decided on the old huddle's last version.
    const { runtime, store, clock } = setup();
    const create = { type: "create", huddle_id: "h1", by: "alice", org_id: "o1", conversation_id: "conv", max: 5 } as const;
    await runtime.apply(huddles, "conv", create);
    const stale = await store.load<Huddle>("huddle", "conv");
    clock.now += 300_000;
    expect(await runtime.expire(huddles, "conv")).toBe(true);
    expect((await store.load("huddle", "conv")).state).toBeNull();
    await runtime.apply(huddles, "conv", { ...create, huddle_id: "h2" });
    const late = await store.commit({
      kind: "huddle",
      id: "conv",
      expectedVersion: stale.version,
      state: null,
      deadline: null,
      retainMs: null,
      emissions: [],
    });
    expect(late).toBe("conflict");
    expect((await store.load<Huddle>("huddle", "conv")).state?.id).toBe("h2");
  });

  it("drops a state retainMs after its commit", async () => {
    const { runtime, store, clock } = setup();
    await runtime.apply(calls, "c1", { ...initiate, type: "busy" });
    const committedAt = clock.now;
    clock.now = committedAt + 4_999;
    expect((await store.load<Call>("call", "c1")).state?.status).toBe("busy");
    clock.now = committedAt + 5_000;
    expect(await store.load("call", "c1")).toEqual({ state: null, version: -1 });
  });

  it("keeps a deleted entity's version for ENTITY_TOMBSTONE_MS; deleting nothing leaves nothing", async () => {
    const { store, clock } = setup();
    await store.commit({ kind: "thing", id: "t1", expectedVersion: -1, state: "{}", deadline: null, retainMs: null, emissions: [] });
    expect(
      await store.commit({ kind: "thing", id: "t1", expectedVersion: 0, state: null, deadline: null, retainMs: null, emissions: [] }),
    ).toBe(1);
    const deletedAt = clock.now;
    clock.now = deletedAt + ENTITY_TOMBSTONE_MS - 1;
    expect(await store.load("thing", "t1")).toEqual({ state: null, version: 1 });
    clock.now = deletedAt + ENTITY_TOMBSTONE_MS;
    expect(await store.load("thing", "t1")).toEqual({ state: null, version: -1 });
    expect(
      await store.commit({ kind: "thing", id: "t2", expectedVersion: -1, state: null, deadline: null, retainMs: null, emissions: [] }),
    ).toBe(-1);
    expect(await store.load("thing", "t2")).toEqual({ state: null, version: -1 });
  });

  it("drops expired states nobody reads again: finished calls do not pile up", async () => {
    const { runtime, store, clock } = setup();
    const busy = (i: number) => runtime.apply(calls, `c${i}`, { ...initiate, type: "busy", call_id: `c${i}` });
    for (let i = 0; i < 600; i++) await busy(i);
    clock.now += 5_000;
    for (let i = 600; i < 1_200; i++) await busy(i);
    // The first 600 expired, unread: only the last 600 are held.
    expect((store as ReturnType<typeof memoryEntityStore>).size()).toBe(600);
  });

  it("acks what it delivered when another flush acked the first of them meanwhile", async () => {
    const store = memoryEntityStore();
    const emission = (n: number): EntityEmission => ({ id: `e${n}`, org_id: "o1", topic: "webrtc:bob", event: "x", data: {} });
    await store.commit({
      kind: "thing",
      id: "t1",
      expectedVersion: -1,
      state: "{}",
      deadline: null,
      retainMs: null,
      emissions: [emission(1), emission(2)],
    });
    const read = await store.outbox("thing", "t1", 10);
    await store.ackOutbox("thing", "t1", read.slice(0, 1));
    await store.ackOutbox("thing", "t1", read);
    expect(await store.outbox("thing", "t1", 10)).toEqual([]);
    expect(await store.stalled("thing", Date.now() + 1, 10)).toEqual([]);
  });

  it("keeps a live call however long it rings", async () => {
    const { runtime, store, clock } = setup();
    await runtime.apply(calls, "c1", initiate);
    clock.now += 10 * 3_600_000;
    expect((await store.load<Call>("call", "c1")).state?.status).toBe("ringing");
  });
});

describe("entity runtime: deadline timers", () => {
  it("fires a deadline it committed on time without any sweeper, and close() stops its timers", async () => {
    const quick = callMachine({ ringTimeoutMs: 30 });
    const delivered: EntityEmission[] = [];
    let missed: () => void = () => undefined;
    const fired = new Promise<void>((resolve) => {
      missed = resolve;
    });
    const runtime = createEntityRuntime({
      store: memoryEntityStore(),
      logger,
      deliver: async (e) => {
        delivered.push(e);
        if (e.event === "call:missed" && e.topic === "webrtc:bob") missed();
      },
    });
    made.push(runtime);
    await runtime.apply(quick, "t1", { ...initiate, call_id: "t1" });
    await fired;
    expect(summary(delivered)).toEqual(["call:incoming>webrtc:bob", "call:missed>webrtc:alice", "call:missed>webrtc:bob"]);
    expect(await runtime.read(quick, "t1")).toMatchObject({ status: "missed" });

    // A ringing call holds a timer; an answered one's next deadline (its maximum duration, hours
    // away) is left to the sweep: no timer per call for hours.
    await runtime.apply(quick, "t2", { ...initiate, call_id: "t2" });
    expect(runtime.timers()).toBe(1);
    await runtime.apply(quick, "t2", { type: "answer", by: "bob", org_id: "o1" });
    expect(runtime.timers()).toBe(0);

    // A closed runtime sets no timers: its deadlines are left to the sweepers (nothing announces a
    // timer that did not fire, so this waits past the deadline).
    const other = createEntityRuntime({ store: memoryEntityStore(), logger, deliver: async () => undefined });
    other.close();
    await other.apply(quick, "t3", { ...initiate, call_id: "t3" });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await other.read(quick, "t3")).toMatchObject({ status: "ringing" });
  });
});
