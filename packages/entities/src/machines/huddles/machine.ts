import { emissionId } from "../../emission-id.js";
import { type Decision, type EntityEmission, type Machine, refuse } from "../../machine.js";
import type { Huddle, HuddleCommand, HuddleParticipant } from "./huddle.js";

export interface HuddleMachineSettings {
  /** How long a participant without a connection stays before they leave (HUDDLE_GRACE_MS). */
  graceMs: number;
  /** How long a huddle nobody is in lasts (created and never joined). @default 300_000 */
  emptyMs?: number;
}

/** The topic a huddle's events go to. */
export function huddleTopic(huddleId: string): string {
  return `huddle:${huddleId}`;
}

/**
 * The huddle state machine (docs/protocol.md "Huddles"): pure, the huddle of a conversation (null
 * when it has none) and a command in, the next huddle and its events out. The entity is the
 * conversation's: its id names the conversation, the huddle id adds which huddle of it this is.
 *
 * @example
 * const huddles = huddleMachine({ graceMs: 10_000 });
 */
export function huddleMachine(settings: HuddleMachineSettings): Machine<Huddle, HuddleCommand> {
  const emptyMs = settings.emptyMs ?? 300_000;
  return {
    kind: "huddle",
    decide(huddle, command, now) {
      if (command.type === "create") {
        // One huddle per conversation: the one it has.
        if (huddle !== null) {
          if (huddle.org_id !== command.org_id) return refuse("forbidden", "the conversation belongs to another org");
          return { ok: true, state: huddle, emissions: [], unchanged: true };
        }
        const created: Huddle = {
          id: command.huddle_id,
          org_id: command.org_id,
          conversation_id: command.conversation_id,
          created_by: command.by,
          created_at: now,
          max: command.max,
          participants: [],
          screen: null,
          empty_since: now,
          seq: 0,
        };
        return { ok: true, state: created, emissions: [] };
      }
      if (huddle === null || huddle.id !== command.huddle_id) return refuse("not_found", "no such huddle");
      if (huddle.org_id !== command.org_id) return refuse("forbidden", "the huddle belongs to another org");
      const me = command.by === null ? undefined : huddle.participants.find((p) => p.user_id === command.by);
      if (command.type === "join") {
        if (me) {
          if (me.connections.includes(command.connection)) return { ok: true, state: huddle, emissions: [], unchanged: true };
          // Another tab: no event. Back within the grace period: the others saw them away, now they are back.
          const next = update(huddle, me, { connections: [...me.connections, command.connection], away_since: null });
          return changed(next, me.away_since === null ? [] : [updated(next, me.user_id)]);
        }
        if (huddle.participants.length >= huddle.max) return refuse("huddle_full", `the huddle has ${huddle.max} participants`);
        const joined: HuddleParticipant = {
          user_id: command.by,
          joined_at: now,
          audio: true,
          video: false,
          screen: false,
          hand: false,
          connections: [command.connection],
          away_since: null,
        };
        const next = { ...huddle, participants: [...huddle.participants, joined], empty_since: null, seq: huddle.seq + 1 };
        return changed(next, [emit(next, "huddle:participant:joined", { participant: publicView(joined) })]);
      }
      if (command.type === "invite" && command.by === null) return invite(huddle, command.user_ids, null);
      if (!me) return refuse("forbidden", "not a participant of this huddle");
      switch (command.type) {
        case "leave": {
          // Another tab of theirs is still in it (subscribed to its topic): the participant stays with it.
          const others = me.connections.filter((c) => c !== command.connection);
          if (command.connection !== undefined && me.connections.includes(command.connection) && others.length > 0) {
            return changed(update(huddle, me, { connections: others }), []);
          }
          return leave(huddle, [me.user_id]);
        }
        case "toggle": {
          if (command.what === "screen" && command.enabled && huddle.screen !== null && huddle.screen !== me.user_id) {
            return refuse("screen_share_taken", `${huddle.screen} is sharing their screen`);
          }
          if (me[command.what] === command.enabled) return { ok: true, state: huddle, emissions: [], unchanged: true };
          const next = update(huddle, me, { [command.what]: command.enabled });
          if (command.what === "screen") next.screen = command.enabled ? me.user_id : null;
          return changed(next, [updated(next, me.user_id)]);
        }
        case "message": {
          const next = { ...huddle, seq: huddle.seq + 1 };
          const data = { message_id: command.message_id, user_id: me.user_id, text: command.text, ts: now };
          return changed(next, [emit(next, "huddle:message:new", data)]);
        }
        case "invite":
          return invite(huddle, command.user_ids, me.user_id);
        case "disconnect": {
          if (!me.connections.includes(command.connection)) return { ok: true, state: huddle, emissions: [], unchanged: true };
          const connections = me.connections.filter((c) => c !== command.connection);
          if (connections.length > 0) return changed(update(huddle, me, { connections }), []);
          return away(huddle, me, now);
        }
        case "away":
          if (me.away_since !== null) return { ok: true, state: huddle, emissions: [], unchanged: true };
          return away(huddle, me, now);
      }
    },
    expire(huddle, now) {
      const gone = huddle.participants.filter((p) => p.away_since !== null && p.away_since + settings.graceMs <= now).map((p) => p.user_id);
      if (gone.length > 0) return leave(huddle, gone);
      if (huddle.participants.length === 0)
        return { ok: true, state: null, emissions: [emit({ ...huddle, seq: huddle.seq + 1 }, "huddle:ended", {})] };
      return refuse("bad_request", "nothing is due");
    },
    deadlineOf(huddle) {
      if (huddle.empty_since !== null) return huddle.empty_since + emptyMs;
      let earliest: number | null = null;
      for (const p of huddle.participants) {
        if (p.away_since === null) continue;
        const at = p.away_since + settings.graceMs;
        if (earliest === null || at < earliest) earliest = at;
      }
      return earliest;
    },
    retainMs: () => null,
  };
}

/** The participant has no connection left: their screen share stops at once, they leave after the grace period. */
function away(huddle: Huddle, me: HuddleParticipant, now: number): Decision<Huddle> {
  const next = update(huddle, me, { connections: [], away_since: now, screen: false });
  if (huddle.screen === me.user_id) next.screen = null;
  return changed(next, me.screen ? [updated(next, me.user_id)] : []);
}

/** These participants leave; the last one out ends the huddle (its state is deleted). */
function leave(huddle: Huddle, users: string[]): Decision<Huddle> {
  const gone = new Set(users);
  const participants = huddle.participants.filter((p) => !gone.has(p.user_id));
  const next: Huddle = {
    ...huddle,
    participants,
    screen: huddle.screen !== null && gone.has(huddle.screen) ? null : huddle.screen,
    seq: huddle.seq + 1,
  };
  const emissions = users.map((user_id) => emit(next, "huddle:participant:left", { user_id }, user_id));
  if (participants.length > 0) return changed(next, emissions);
  emissions.push(emit(next, "huddle:ended", {}));
  return { ok: true, state: null, emissions };
}

function invite(huddle: Huddle, users: string[], by: string | null): Decision<Huddle> {
  const next = { ...huddle, seq: huddle.seq + 1 };
  const data = { huddle_id: huddle.id, conversation_id: huddle.conversation_id, by };
  const emissions: EntityEmission[] = [...new Set(users)].map((user) => ({
    id: emissionId("huddle", huddle.id, next.seq, "invited", user),
    org_id: huddle.org_id,
    topic: `notifications:${user}`,
    event: "huddle:invited",
    data,
    push: { kind: "huddle_invite", user_id: user },
  }));
  return changed(next, emissions);
}

/** The huddle with one participant changed (and `seq` moved on). */
function update(huddle: Huddle, who: HuddleParticipant, change: Partial<HuddleParticipant>): Huddle {
  return { ...huddle, participants: huddle.participants.map((p) => (p === who ? { ...p, ...change } : p)), seq: huddle.seq + 1 };
}

function changed(next: Huddle, emissions: EntityEmission[]): Decision<Huddle> {
  return { ok: true, state: next, emissions };
}

function updated(huddle: Huddle, userId: string): EntityEmission {
  const p = huddle.participants.find((x) => x.user_id === userId) as HuddleParticipant;
  return emit(huddle, "huddle:participant:updated", { participant: publicView(p) }, userId);
}

/** A participant as others see it: no connection ids. */
export function publicView(p: HuddleParticipant): Omit<HuddleParticipant, "connections"> & { away: boolean } {
  const { connections: _connections, ...rest } = p;
  return { ...rest, away: p.away_since !== null };
}

function emit(huddle: Huddle, event: string, data: Record<string, unknown>, discriminator = ""): EntityEmission {
  return {
    id: emissionId("huddle", huddle.id, huddle.seq, event.slice("huddle:".length).replaceAll(":", "-"), discriminator),
    org_id: huddle.org_id,
    topic: huddleTopic(huddle.id),
    event,
    data: { huddle_id: huddle.id, ...data },
  };
}
