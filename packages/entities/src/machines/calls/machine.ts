import { emissionId } from "../../emission-id.js";
import { type Decision, type EntityEmission, type Machine, type PushKind, refuse } from "../../machine.js";
import type { Call, CallCommand } from "./call.js";

export interface CallMachineSettings {
  /** How long a call rings before it is missed (CALL_RING_TIMEOUT_MS). */
  ringTimeoutMs: number;
  /** How long a finished call stays readable (`GET /api/v1/calls/:id`). @default 3_600_000 */
  retainMs?: number;
  /**
   * How long an answered call may last (CALL_MAX_DURATION_MS): then it ends with reason
   * `max_duration`, so a call whose end was never told (both parties vanished while Redis was
   * away) frees its parties' lines. @default 14_400_000 (4 h)
   */
  maxDurationMs?: number;
}

/** The topic a user's call events go to. */
export function callTopic(userId: string): string {
  return `webrtc:${userId}`;
}

/**
 * The 1:1 call state machine (docs/protocol.md "Calls"): pure, the call (null before `initiate`)
 * and a command in, the next call and the events both parties get out.
 *
 * @example
 * const calls = callMachine({ ringTimeoutMs: 60_000 });
 * calls.decide(null, { type: "initiate", by: "alice", org_id: "o1", to: "bob", media: "audio" }, Date.now());
 */
export function callMachine(settings: CallMachineSettings): Machine<Call, CallCommand> {
  const retainMs = settings.retainMs ?? 3_600_000;
  const maxDurationMs = settings.maxDurationMs ?? 14_400_000;
  return {
    kind: "call",
    decide(call, command, now) {
      if (command.type === "initiate" || command.type === "busy") {
        if (call !== null) return refuse("id_conflict", "a call with this id exists");
        if (command.to === command.by) return refuse("bad_request", "a user cannot call themselves");
        return created(command, now, settings.ringTimeoutMs);
      }
      // Another org's call does not exist for this user: tenants never meet.
      if (call === null || call.org_id !== command.org_id) return refuse("not_found", "no such call");
      const party = command.by === call.caller || command.by === call.callee;
      if (!party) return refuse("forbidden", "not a party of this call");
      switch (command.type) {
        case "answer":
        case "reject": {
          if (command.by !== call.callee) return refuse("forbidden", `only the callee may ${command.type}`);
          if (call.status !== "ringing") return refuse("bad_request", `the call is ${call.status}`);
          const next: Call =
            command.type === "answer"
              ? { ...call, status: "active", ring_deadline: null, answered_at: now, seq: call.seq + 1 }
              : { ...call, status: "rejected", ring_deadline: null, ended_at: now, ended_by: command.by, seq: call.seq + 1 };
          const event = command.type === "answer" ? "call:answered" : "call:rejected";
          return { ok: true, state: next, emissions: toBoth(next, event, { by: command.by }) };
        }
        case "end": {
          if (call.status !== "ringing" && call.status !== "active") return refuse("bad_request", `the call is ${call.status}`);
          const next: Call = { ...call, status: "completed", ring_deadline: null, ended_at: now, ended_by: command.by, seq: call.seq + 1 };
          const duration = call.answered_at === null ? 0 : now - call.answered_at;
          return {
            ok: true,
            state: next,
            emissions: toBoth(next, "call:ended", { by: command.by, reason: command.reason, duration_ms: duration }),
          };
        }
        case "toggle": {
          if (call.status !== "ringing" && call.status !== "active") return refuse("bad_request", `the call is ${call.status}`);
          const next: Call = { ...call, [command.media]: { ...call[command.media], [command.by]: command.enabled }, seq: call.seq + 1 };
          const other = command.by === call.caller ? call.callee : call.caller;
          const event = command.media === "audio" ? "call:toggle-audio" : "call:toggle-video";
          return { ok: true, state: next, emissions: [emit(next, other, event, { user_id: command.by, enabled: command.enabled })] };
        }
      }
    },
    expire(call, now) {
      if (call.status === "active") {
        const next: Call = { ...call, status: "completed", ended_at: now, ended_by: null, seq: call.seq + 1 };
        return {
          ok: true,
          state: next,
          emissions: toBoth(next, "call:ended", { by: null, reason: "max_duration", duration_ms: maxDurationMs }),
        };
      }
      if (call.status !== "ringing") return refuse("bad_request", "not ringing");
      const next: Call = { ...call, status: "missed", ring_deadline: null, ended_at: now, seq: call.seq + 1 };
      const emissions = toBoth(next, "call:missed", {});
      for (const e of emissions) if (e.topic === callTopic(call.callee)) e.push = { kind: "call_missed", user_id: call.callee };
      return { ok: true, state: next, emissions };
    },
    deadlineOf: (call) =>
      call.status === "ringing"
        ? call.ring_deadline
        : call.status === "active" && call.answered_at !== null
          ? call.answered_at + maxDurationMs
          : null,
    retainMs: (call) => (call.status === "ringing" || call.status === "active" ? null : retainMs),
  };
}

function created(command: CallCommand & { type: "initiate" | "busy" }, now: number, ringTimeoutMs: number): Decision<Call> {
  const busy = command.type === "busy";
  const video = command.media === "video";
  const call: Call = {
    id: command.call_id,
    org_id: command.org_id,
    caller: command.by,
    callee: command.to,
    media: command.media,
    status: busy ? "busy" : "ringing",
    created_at: now,
    ring_deadline: busy ? null : now + ringTimeoutMs,
    answered_at: null,
    ended_at: busy ? now : null,
    ended_by: null,
    audio: { [command.by]: true, [command.to]: true },
    video: { [command.by]: video, [command.to]: video },
    seq: 0,
  };
  const emissions = busy
    ? [emit(call, call.caller, "call:busy", { to: call.callee })]
    : [emit(call, call.callee, "call:incoming", { from: call.caller, media: call.media }, "call")];
  return { ok: true, state: call, emissions };
}

function emit(call: Call, to: string, event: string, data: Record<string, unknown>, push?: PushKind): EntityEmission {
  return {
    id: emissionId("call", call.id, call.seq, event.slice("call:".length), to),
    org_id: call.org_id,
    topic: callTopic(to),
    event,
    data: { call_id: call.id, ...data },
    ...(push ? { push: { kind: push, user_id: to } } : {}),
  };
}

function toBoth(call: Call, event: string, data: Record<string, unknown>): EntityEmission[] {
  return [emit(call, call.caller, event, data), emit(call, call.callee, event, data)];
}
