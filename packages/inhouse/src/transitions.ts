import { createHash } from "node:crypto";
import { DEFAULT_CAPACITY, PLAYER_COMMANDS, type Queue, type QueueCommand, type SyncCommand } from "@hub/events";

/** An event the change emits, published after the change is committed. */
export interface Emission {
  /** Deterministic: the same change always yields the same id, so a retried emission is deduplicated. */
  id: string;
  type: "inhouse.queue_updated" | "inhouse.check_in_expired" | "inhouse.session_started";
  org_id: string;
  payload: Record<string, unknown>;
}

export type Decision = { ok: true; queue: Queue; emissions: Emission[] } | { ok: false; reason: string };

/**
 * The reconciler's `sync`: the backend's snapshot (null: close the queue) and, in `based_on`, what
 * the reconciler read of the queue before it asked the backend: its version, or null when the
 * queue was not active (absent or closed). The sync is refused when the queue changed since, so a
 * change made through the hub while the backend built its answer is never overwritten or closed.
 * Without `based_on` (older producers) only the version rule applies.
 */
export type ReconcileCommand = SyncCommand & { based_on?: number | null };

const STATUSES: ReadonlySet<string> = new Set(["open", "check_in", "in_session"]);

export interface TransitionSettings {
  checkInTimeoutMs: number;
  now: number;
}

/**
 * The queue state machine (docs/protocol.md "Inhouse queues"), pure: the current queue (or null when
 * none exists) and a command in, the next queue and its events out, or why the command is refused.
 */
export function decide(current: Queue | null, command: QueueCommand, settings: TransitionSettings): Decision {
  if (command.command === "sync") return sync(current, command);
  if (command.command === "open") {
    if (current && current.status !== "closed") return refuse(`queue is already ${current.status}`);
    return changed(current, {
      id: command.queue_id,
      org_id: command.org_id,
      status: "open",
      capacity: command.capacity ?? DEFAULT_CAPACITY,
      players: [],
      check_in_deadline: null,
    });
  }
  if (!current || current.status === "closed") return refuse("queue is not open");
  // Producers' input is validated at the gateway; an entry written to the stream some other way may lack it.
  if (PLAYER_COMMANDS.has(command.command) && typeof command.user_id !== "string") return refuse(`${command.command} needs user_id`);
  const user = command.user_id;
  const player = user === undefined ? undefined : current.players.find((p) => p.user_id === user);

  switch (command.command) {
    case "join": {
      if (current.status !== "open") return refuse(`cannot join while ${current.status}`);
      if (player) return refuse("already in the queue");
      const players = [...current.players, { user_id: user as string, checked_in: false }];
      const full = players.length >= current.capacity;
      return changed(current, {
        ...current,
        players,
        status: full ? "check_in" : "open",
        check_in_deadline: full ? settings.now + settings.checkInTimeoutMs : null,
      });
    }
    case "leave": {
      if (!player) return refuse("not in the queue");
      if (current.status === "in_session") return refuse("the session has started");
      // Leaving a full queue reopens it: the check-in round is over.
      return changed(current, {
        ...current,
        players: current.players.filter((p) => p !== player),
        status: "open",
        check_in_deadline: null,
      });
    }
    case "check_in": {
      if (current.status !== "check_in") return refuse("check-in is not open");
      if (!player) return refuse("not in the queue");
      if (player.checked_in) return refuse("already checked in");
      const players = current.players.map((p) => (p === player ? { ...p, checked_in: true } : p));
      // Everyone ready: the deadline no longer applies; the queue waits for start_session.
      const ready = players.every((p) => p.checked_in);
      return changed(current, { ...current, players, check_in_deadline: ready ? null : current.check_in_deadline });
    }
    case "start_session": {
      if (current.status !== "check_in" || !current.players.every((p) => p.checked_in)) {
        return refuse("start_session needs a full queue with everyone checked in");
      }
      const next = changed(current, { ...current, status: "in_session", check_in_deadline: null });
      if (next.ok) next.emissions.push(emission(next.queue, "inhouse.session_started", { queue: next.queue }));
      return next;
    }
    case "close":
      return changed(current, { ...current, status: "closed", check_in_deadline: null });
    default:
      // A command this version does not know (written by a newer producer): refused, not fatal.
      return refuse(`unknown command ${JSON.stringify((command as { command?: unknown }).command)}`);
  }
}

/**
 * The check-in deadline passed: players who did not check in leave and the queue reopens. Refused
 * when there is nothing to expire (already expired, everyone checked in, not in check-in).
 */
export function expire(current: Queue | null, now: number): Decision {
  if (current?.status !== "check_in" || current.check_in_deadline === null) return refuse("no check-in deadline");
  if (now < current.check_in_deadline) return refuse("the deadline has not passed");
  const removed = current.players.filter((p) => !p.checked_in).map((p) => p.user_id);
  const next = changed(current, {
    ...current,
    status: "open",
    check_in_deadline: null,
    players: current.players.filter((p) => p.checked_in),
  });
  if (next.ok) next.emissions.push(emission(next.queue, "inhouse.check_in_expired", { queue: next.queue, removed }));
  return next;
}

/**
 * The backend's view wins unless Redis already holds a newer version, or the queue changed since
 * the reconciler read it (`based_on`); null closes the queue.
 */
function sync(current: Queue | null, command: ReconcileCommand): Decision {
  const snapshot = command.snapshot;
  const problem = snapshotProblem(snapshot);
  if (problem) return refuse(`invalid sync snapshot: ${problem}`);
  const basedOn = command.based_on;
  if (basedOn !== undefined) {
    const unchanged = basedOn === null ? !current || current.status === "closed" : (current?.version ?? -1) === basedOn;
    if (!unchanged) return refuse("the queue changed since the reconciler read it");
  }
  if (snapshot === null) {
    if (!current || current.status === "closed") return refuse("already closed");
    return changed(current, { ...current, status: "closed", check_in_deadline: null });
  }
  if (current && current.version >= snapshot.version) return refuse("local state is as new or newer");
  return changed(current, { id: command.queue_id, org_id: command.org_id, ...snapshot }, snapshot.version);
}

/** What is wrong with a sync snapshot from a stream entry, if anything (the reconciler writes valid ones). */
function snapshotProblem(snapshot: unknown): string | undefined {
  if (snapshot === null) return undefined;
  if (typeof snapshot !== "object") return "missing (null closes the queue)";
  const s = snapshot as Record<string, unknown>;
  if (typeof s.status !== "string" || !STATUSES.has(s.status)) return "status";
  if (!Number.isInteger(s.capacity) || (s.capacity as number) < 1) return "capacity";
  if (!Array.isArray(s.players)) return "players";
  const users = new Set<string>();
  for (const p of s.players as unknown[]) {
    const player = p as Record<string, unknown> | null;
    if (typeof player !== "object" || player === null || typeof player.user_id !== "string" || typeof player.checked_in !== "boolean") {
      return "players";
    }
    if (users.has(player.user_id)) return "players (a user listed twice)";
    users.add(player.user_id);
  }
  if (users.size > (s.capacity as number)) return "players (more than capacity)";
  if (s.check_in_deadline !== null && !Number.isFinite(s.check_in_deadline)) return "check_in_deadline";
  if (!Number.isInteger(s.version) || (s.version as number) < 0) return "version";
  return undefined;
}

function changed(current: Queue | null, next: Omit<Queue, "version">, version = (current?.version ?? 0) + 1): Decision {
  const queue = { ...next, version };
  return { ok: true, queue, emissions: [emission(queue, "inhouse.queue_updated", { queue })] };
}

function emission(queue: Queue, type: Emission["type"], payload: Record<string, unknown>): Emission {
  const id = `inhouse.${queue.org_id}.${queue.id}.v${queue.version}.${type.slice("inhouse.".length)}`;
  // Event ids are at most 128 characters; long org and queue ids are hashed, still deterministically.
  const short = id.length <= 128 ? id : `inhouse.${createHash("sha256").update(id).digest("hex")}`;
  return { id: short, type, org_id: queue.org_id, payload };
}

function refuse(reason: string): Decision {
  return { ok: false, reason };
}
