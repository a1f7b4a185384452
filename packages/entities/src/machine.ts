import type { ProtocolErrorCode } from "@hub/events";

/** Who a push goes to when the recipient of an event has no connected socket (docs/protocol.md "Push hook"). */
export type PushKind = "call" | "call_missed" | "huddle_invite";

/**
 * An event a change emits: one client event on one topic, delivered after the change is committed
 * (from the entity's outbox, so it is delivered even when the process that committed it dies).
 */
export interface EntityEmission {
  /** Deterministic: the same change always yields the same id, so a repeated delivery is deduplicated. */
  id: string;
  org_id: string;
  /** The public topic (`webrtc:{user_id}`, `huddle:{id}`, `notifications:{user_id}`). */
  topic: string;
  /** The client event it arrives as (`call:incoming`). */
  event: string;
  data: Record<string, unknown>;
  /** When set and `push.user_id` has no connected socket, the push hook is told (PUSH_WEBHOOK_URL). */
  push?: { kind: PushKind; user_id: string };
}

/** What a state machine answers to a command or a deadline; `E` is what its changes emit. */
export type Decision<S, E = EntityEmission> =
  /** `state: null` deletes the entity; `unchanged` commits nothing (the answer is the current state). */
  { ok: true; state: S | null; emissions: E[]; unchanged?: boolean } | { ok: false; code: ProtocolErrorCode; reason: string };

/**
 * One kind of stateful entity on the runtime: a pure transition function plus its declarations.
 * Adding a machine is a folder under machines/ with one of these. Calls and huddles emit client
 * events (`EntityEmission`); the inhouse queue (`@hub/inhouse`'s `queueMachine`) emits producer
 * events, published through the hub's pipeline by its leased worker.
 */
export interface Machine<S, C, E = EntityEmission> {
  /** Names its keys (`<prefix>:ent:{<kind>-b<k>}:<id>`) and metrics; lowercase letters. */
  readonly kind: string;
  /** The next state and its events for a command, or why the command is refused. Pure. */
  decide(state: S | null, command: C, now: number): Decision<S, E>;
  /** The entity's deadline passed (`deadlineOf(state) <= now`): the next state. Pure. */
  expire(state: S, now: number): Decision<S, E>;
  /** When `expire` is due, epoch ms; null for none. */
  deadlineOf(state: S): number | null;
  /** How long a state is kept once nothing will change it any more (a finished call), ms; null keeps it. */
  retainMs(state: S): number | null;
}

/** A refusal, for machines. */
export function refuse(code: ProtocolErrorCode, reason: string): { ok: false; code: ProtocolErrorCode; reason: string } {
  return { ok: false, code, reason };
}
