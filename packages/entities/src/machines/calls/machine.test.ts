import { describe, expect, it } from "vitest";
import type { Decision, EntityEmission } from "../../machine.js";
import type { Call, CallCommand } from "./call.js";
import { callMachine } from "./machine.js";

const RING = 60_000;
const T0 = 1_000_000;
const MAX = 3_600_000;
const calls = callMachine({ ringTimeoutMs: RING, retainMs: 5_000, maxDurationMs: MAX });

const initiate = (over: Partial<Omit<CallCommand & { type: "initiate" }, "type">> = {}): CallCommand & { type: "initiate" } => ({
  type: "initiate",
  call_id: "c1",
  by: "alice",
  org_id: "o1",
  to: "bob",
  media: "audio",
  ...over,
});

function ok(decision: Decision<Call>): { state: Call; emissions: EntityEmission[] } {
  if (!decision.ok) throw new Error(`refused: ${decision.code} ${decision.reason}`);
  return { state: decision.state as Call, emissions: decision.emissions };
}

function refused(decision: Decision<Call>): string {
  if (decision.ok) throw new Error("expected a refusal");
  return decision.code;
}

const ringing = () => ok(calls.decide(null, initiate(), T0)).state;
const active = () => ok(calls.decide(ringing(), { type: "answer", by: "bob", org_id: "o1" }, T0 + 1_000)).state;

describe("call machine: initiate and busy", () => {
  it("rings the callee only, with a call push and the ring deadline", () => {
    const { state, emissions } = ok(calls.decide(null, initiate({ media: "video" }), T0));
    expect(state).toMatchObject({
      id: "c1",
      org_id: "o1",
      caller: "alice",
      callee: "bob",
      media: "video",
      status: "ringing",
      created_at: T0,
      ring_deadline: T0 + RING,
      answered_at: null,
      ended_at: null,
      ended_by: null,
      video: { alice: true, bob: true },
    });
    expect(emissions).toEqual([
      {
        id: expect.any(String),
        org_id: "o1",
        topic: "webrtc:bob",
        event: "call:incoming",
        data: { call_id: "c1", from: "alice", media: "video" },
        push: { kind: "call", user_id: "bob" },
      },
    ]);
  });

  it("refuses an id that exists and calling oneself", () => {
    expect(refused(calls.decide(ringing(), initiate(), T0))).toBe("id_conflict");
    expect(refused(calls.decide(ringing(), { ...initiate(), type: "busy" }, T0))).toBe("id_conflict");
    expect(refused(calls.decide(null, initiate({ to: "alice" }), T0))).toBe("bad_request");
  });

  it("records a busy callee and tells only the caller, with no deadline", () => {
    const { state, emissions } = ok(calls.decide(null, { ...initiate(), type: "busy" }, T0));
    expect(state).toMatchObject({ status: "busy", ring_deadline: null, ended_at: T0 });
    expect(emissions).toHaveLength(1);
    expect(emissions[0]).toMatchObject({ topic: "webrtc:alice", event: "call:busy", data: { call_id: "c1", to: "bob" } });
    expect(emissions[0]?.push).toBeUndefined();
    expect(calls.deadlineOf(state)).toBeNull();
    expect(calls.retainMs(state)).toBe(5_000);
  });
});

describe("call machine: answer and reject", () => {
  for (const type of ["answer", "reject"] as const) {
    it(`${type}: only the callee, only while ringing; both parties told`, () => {
      const call = ringing();
      expect(refused(calls.decide(call, { type, by: "alice", org_id: "o1" }, T0))).toBe("forbidden");
      const { state, emissions } = ok(calls.decide(call, { type, by: "bob", org_id: "o1" }, T0 + 500));
      const event = type === "answer" ? "call:answered" : "call:rejected";
      expect(emissions.map((e) => [e.topic, e.event, e.data])).toEqual([
        ["webrtc:alice", event, { call_id: "c1", by: "bob" }],
        ["webrtc:bob", event, { call_id: "c1", by: "bob" }],
      ]);
      expect(state.ring_deadline).toBeNull();
      if (type === "answer") expect(state).toMatchObject({ status: "active", answered_at: T0 + 500 });
      else expect(state).toMatchObject({ status: "rejected", ended_at: T0 + 500, ended_by: "bob" });
      // Not ringing any more: neither answer nor reject again.
      expect(refused(calls.decide(state, { type: "answer", by: "bob", org_id: "o1" }, T0 + 600))).toBe("bad_request");
      expect(refused(calls.decide(state, { type: "reject", by: "bob", org_id: "o1" }, T0 + 600))).toBe("bad_request");
    });
  }
});

describe("call machine: end", () => {
  it("either party ends a ringing call: completed, duration 0", () => {
    for (const by of ["alice", "bob"]) {
      const { state, emissions } = ok(calls.decide(ringing(), { type: "end", by, org_id: "o1", reason: "hangup" }, T0 + 100));
      expect(state).toMatchObject({ status: "completed", ended_at: T0 + 100, ended_by: by, ring_deadline: null });
      expect(emissions.map((e) => e.topic)).toEqual(["webrtc:alice", "webrtc:bob"]);
      for (const e of emissions) expect(e).toMatchObject({ event: "call:ended", data: { by, reason: "hangup", duration_ms: 0 } });
    }
  });

  it("either party ends an active call: the duration since it was answered", () => {
    for (const by of ["alice", "bob"]) {
      const { state, emissions } = ok(calls.decide(active(), { type: "end", by, org_id: "o1", reason: "disconnected" }, T0 + 8_000));
      expect(state.status).toBe("completed");
      for (const e of emissions) expect(e.data).toEqual({ call_id: "c1", by, reason: "disconnected", duration_ms: 7_000 });
    }
  });

  it("refuses ending a finished call", () => {
    const done = ok(calls.decide(active(), { type: "end", by: "alice", org_id: "o1", reason: "hangup" }, T0 + 2_000)).state;
    expect(refused(calls.decide(done, { type: "end", by: "bob", org_id: "o1", reason: "hangup" }, T0 + 3_000))).toBe("bad_request");
  });
});

describe("call machine: toggles", () => {
  it("tells the other party only and records the toggle", () => {
    const call = active();
    const a = ok(calls.decide(call, { type: "toggle", by: "alice", org_id: "o1", media: "audio", enabled: false }, T0 + 2_000));
    expect(a.state.audio).toEqual({ alice: false, bob: true });
    expect(a.emissions).toEqual([
      expect.objectContaining({
        topic: "webrtc:bob",
        event: "call:toggle-audio",
        data: { call_id: "c1", user_id: "alice", enabled: false },
      }),
    ]);
    const b = ok(calls.decide(a.state, { type: "toggle", by: "bob", org_id: "o1", media: "video", enabled: true }, T0 + 3_000));
    expect(b.state.video).toEqual({ alice: false, bob: true });
    expect(b.emissions).toEqual([
      expect.objectContaining({
        topic: "webrtc:alice",
        event: "call:toggle-video",
        data: { call_id: "c1", user_id: "bob", enabled: true },
      }),
    ]);
  });
});

describe("call machine: ring timeout", () => {
  it("a ringing call expires as missed: call:missed to both exactly, a call_missed push to the callee", () => {
    const { state, emissions } = ok(calls.expire(ringing(), T0 + RING));
    expect(state).toMatchObject({ status: "missed", ring_deadline: null, ended_at: T0 + RING, ended_by: null });
    expect(emissions).toEqual([
      { id: expect.any(String), org_id: "o1", topic: "webrtc:alice", event: "call:missed", data: { call_id: "c1" } },
      {
        id: expect.any(String),
        org_id: "o1",
        topic: "webrtc:bob",
        event: "call:missed",
        data: { call_id: "c1" },
        push: { kind: "call_missed", user_id: "bob" },
      },
    ]);
  });

  it("refuses to expire a finished call", () => {
    const missed = ok(calls.expire(ringing(), T0 + RING)).state;
    expect(refused(calls.expire(missed, T0 + RING + 1))).toBe("bad_request");
  });
});

describe("call machine: maximum duration", () => {
  it("ends an answered call at CALL_MAX_DURATION_MS after the answer: call:ended to both, by nobody", () => {
    const call = active();
    expect(calls.deadlineOf(call)).toBe(T0 + 1_000 + MAX);
    const { state, emissions } = ok(calls.expire(call, T0 + 1_000 + MAX));
    expect(state).toMatchObject({ status: "completed", ended_by: null, ended_at: T0 + 1_000 + MAX });
    expect(emissions.map((e) => [e.event, e.topic, e.data])).toEqual([
      ["call:ended", "webrtc:alice", { call_id: "c1", by: null, reason: "max_duration", duration_ms: MAX }],
      ["call:ended", "webrtc:bob", { call_id: "c1", by: null, reason: "max_duration", duration_ms: MAX }],
    ]);
    expect(calls.deadlineOf(state)).toBeNull();
    expect(callMachine({ ringTimeoutMs: RING }).deadlineOf(call)).toBe(T0 + 1_000 + 14_400_000);
  });
});

describe("call machine: who may act", () => {
  const commands: CallCommand[] = [
    { type: "answer", by: "bob", org_id: "o2" },
    { type: "reject", by: "bob", org_id: "o2" },
    { type: "end", by: "alice", org_id: "o2", reason: "hangup" },
    { type: "toggle", by: "alice", org_id: "o2", media: "audio", enabled: false },
  ];

  it("another org's user (even with a party's id) gets not_found; so does a call that does not exist", () => {
    for (const command of commands) {
      expect(refused(calls.decide(ringing(), command, T0))).toBe("not_found");
      expect(refused(calls.decide(null, { ...command, org_id: "o1" }, T0))).toBe("not_found");
    }
  });

  it("a third user of the org is forbidden", () => {
    for (const command of commands)
      expect(refused(calls.decide(ringing(), { ...command, by: "carol", org_id: "o1" }, T0))).toBe("forbidden");
  });
});

describe("call machine: deadlines and retention", () => {
  it("a ringing call's deadline is its ring timeout, an active one's its maximum duration; only a finished call is retained for a while", () => {
    const call = ringing();
    expect(calls.deadlineOf(call)).toBe(T0 + RING);
    expect(calls.retainMs(call)).toBeNull();
    expect(calls.deadlineOf(active())).toBe(T0 + 1_000 + MAX);
    expect(calls.retainMs(active())).toBeNull();
    for (const status of ["completed", "rejected", "missed", "busy"] as const) {
      expect(calls.deadlineOf({ ...call, status })).toBeNull();
      expect(calls.retainMs({ ...call, status })).toBe(5_000);
    }
    expect(callMachine({ ringTimeoutMs: RING }).retainMs({ ...call, status: "missed" })).toBe(3_600_000);
  });
});

describe("call machine: emission ids", () => {
  it("are deterministic, and distinct per change and per recipient", () => {
    const ids = (d: Decision<Call>) => ok(d).emissions.map((e) => e.id);
    const first = ringing();
    expect(ids(calls.decide(null, initiate(), T0))).toEqual(ids(calls.decide(null, initiate(), T0 + 5)));
    const toggled = ok(calls.decide(first, { type: "toggle", by: "alice", org_id: "o1", media: "audio", enabled: false }, T0 + 1)).state;
    const all = [
      ...ids(calls.decide(null, initiate(), T0)),
      ...ids(calls.decide(first, { type: "toggle", by: "alice", org_id: "o1", media: "audio", enabled: false }, T0 + 1)),
      ...ids(calls.decide(toggled, { type: "toggle", by: "alice", org_id: "o1", media: "audio", enabled: true }, T0 + 2)),
      ...ids(calls.decide(first, { type: "answer", by: "bob", org_id: "o1" }, T0 + 1)),
      ...ids(calls.expire(first, T0 + RING)),
    ];
    expect(new Set(all).size).toBe(all.length);
    // The same change decided again (a retry after a conflict) yields the same ids.
    expect(ids(calls.expire(first, T0 + RING))).toEqual(ids(calls.expire(first, T0 + RING + 7)));
  });

  it("stay within 128 characters with 128-character user and call ids, still distinct per recipient", () => {
    const alice = "a".repeat(128);
    const bob = "b".repeat(128);
    const call = ok(calls.decide(null, initiate({ call_id: "c".repeat(128), by: alice, to: bob }), T0)).state;
    const missed = ok(calls.expire(call, T0 + RING)).emissions.map((e) => e.id);
    const answered = ok(calls.decide(call, { type: "answer", by: bob, org_id: "o1" }, T0)).emissions.map((e) => e.id);
    const all = [...missed, ...answered];
    for (const id of all) expect(id.length).toBeLessThanOrEqual(128);
    expect(new Set(all).size).toBe(4);
  });
});
