import { DEFAULT_CAPACITY, IdLike, parseQueueName, type QueueCommand, type QueueStatus, queueName } from "@hub/events";
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { SignJWT } from "jose";
import type { Logger } from "pino";
import type { QueueStore } from "./queue-store.js";
import type { ReconcileCommand } from "./transitions.js";

/** What `GET ${BACKEND_API_URL}/internal/inhouse_queues/active` must answer (documented in the queue-worker README). */
export const ActiveQueuesSchema = Type.Object({
  queues: Type.Array(
    Type.Object({
      id: IdLike,
      org_id: IdLike,
      status: Type.Union([Type.Literal("open"), Type.Literal("check_in"), Type.Literal("in_session")]),
      capacity: Type.Optional(Type.Integer({ minimum: 2, maximum: 100 })),
      players: Type.Array(Type.Object({ user_id: Type.Union([Type.String(), Type.Integer()]), checked_in: Type.Boolean() }), {
        maxItems: 100,
      }),
      check_in_deadline: Type.Optional(Type.Union([Type.Number(), Type.String(), Type.Null()])),
      version: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
  ),
});
export type ActiveQueues = Static<typeof ActiveQueuesSchema>;
const checkActive = TypeCompiler.Compile(ActiveQueuesSchema);

/** How one reconciliation attempt ended: `failed` ones are retried with backoff. */
export type ReconcilerRunOutcome = "succeeded" | "failed";

/**
 * Why one queue of the backend's answer was refused (left as Redis has it, neither replaced nor
 * closed): more players than its capacity, or the same player twice.
 */
export const SNAPSHOT_REFUSALS = ["over_capacity", "duplicate_players"] as const;
export type SnapshotRefusal = (typeof SNAPSHOT_REFUSALS)[number];

export interface ReconcilerOptions {
  /** `BACKEND_API_URL`; undefined disables the reconciler. */
  backendApiUrl: string | undefined;
  /** `INTERNAL_JWT_SECRET`: signs the request's service token. */
  internalSecret: string;
  store: QueueStore;
  logger: Logger;
  /** `CHECK_IN_TIMEOUT_MS`: the deadline given to a backend queue in check-in without one. */
  checkInTimeoutMs: number;
  /** @default Date.now */
  now?: () => number;
  /** @default fetch */
  fetch?: typeof fetch;
  /** Told how each attempt ended, for metrics. */
  onRun?: (outcome: ReconcilerRunOutcome) => void;
  /** Told of each backend queue refused as inconsistent, for metrics. */
  onRefused?: (reason: SnapshotRefusal) => void;
}

export interface Reconciler {
  /** Resolves when the first reconciliation succeeded (or immediately when it is disabled). */
  readonly done: Promise<void>;
  stop(): void;
}

/** The first retry waits 1 s, each next one twice as long, up to 30 s. */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** Queue states read at once before asking the backend. */
const READ_CHUNK = 200;

/** What the reconciler read of one active queue before asking the backend. */
export interface ReadQueue {
  version: number;
  closed: boolean;
}

export interface ReconcilePlan {
  commands: QueueCommand[];
  /** Backend queues refused as inconsistent, by name. */
  refused: Array<{ queue: string; reason: SnapshotRefusal; detail: string }>;
  /** Backend queues whose snapshot was corrected, by name, with what was corrected. */
  normalized: Array<{ queue: string; fixes: string[] }>;
}

/**
 * On boot, brings the queues in line with the backend: creates queues the store lacks, replaces
 * older ones, closes active queues the backend no longer lists, leaves newer state alone. It reads
 * the store's active queues first, then asks the backend, and every command carries the version it
 * read (`based_on`): a queue changed through the hub in the meantime (say, opened while the backend
 * built its answer) is neither replaced nor closed. The commands have deterministic ids, so several
 * workers booting at once apply each change once, in queue order. Retries with backoff while the
 * backend is down, without holding up anything else.
 */
export function startReconciler(options: ReconcilerOptions): Reconciler {
  const { backendApiUrl: url, store, logger, fetch: fetchImpl = fetch, onRun, onRefused } = options;
  const now = options.now ?? Date.now;
  if (!url) {
    logger.info("reconciler disabled (no BACKEND_API_URL)");
    return { done: Promise.resolve(), stop() {} };
  }
  const endpoint = `${url.replace(/\/$/, "")}/internal/inhouse_queues/active`;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  const attempt = async (tries: number): Promise<void> => {
    if (stopped) return;
    try {
      // Read before asking: whatever changes after this read is newer than the backend's answer.
      const before = await readActive(store);
      const active = await fetchActive(endpoint, options.internalSecret, fetchImpl);
      if (stopped) return;
      const plan = planReconciliation(active, before, { now: now(), checkInTimeoutMs: options.checkInTimeoutMs });
      for (const { queue, reason, detail } of plan.refused) {
        onRefused?.(reason);
        logger.warn({ queue, reason, detail }, "reconciler refused a backend queue");
      }
      for (const { queue, fixes } of plan.normalized) logger.info({ queue, fixes }, "reconciler corrected a backend queue");
      await store.commands.enqueue(plan.commands);
      logger.info(
        { backend_queues: active.queues.length, commands: plan.commands.length, refused: plan.refused.length, tries },
        "reconciled inhouse queues with the backend",
      );
      onRun?.("succeeded");
      resolveDone();
    } catch (error) {
      onRun?.("failed");
      const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(tries - 1, 10));
      logger.warn({ err: (error as Error).message, retry_in_ms: delay }, "reconciler could not reach the backend");
      if (!stopped) timer = setTimeout(() => void attempt(tries + 1), delay);
    }
  };
  void attempt(1);
  return {
    done,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

async function readActive(store: QueueStore): Promise<Map<string, ReadQueue>> {
  const names = await store.activeQueues();
  const read = new Map<string, ReadQueue>();
  for (let i = 0; i < names.length; i += READ_CHUNK) {
    const part = names.slice(i, i + READ_CHUNK);
    const states = await Promise.all(part.map((name) => store.load(name)));
    part.forEach((name, j) => {
      const stored = states[j];
      if (stored?.queue) read.set(name, { version: stored.version, closed: stored.queue.status === "closed" });
    });
  }
  return read;
}

async function fetchActive(url: string, secret: string, fetchImpl: typeof fetch): Promise<ActiveQueues> {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("queue-worker")
    .setIssuedAt()
    .setExpirationTime("1m")
    .sign(new TextEncoder().encode(secret));
  const res = await fetchImpl(url, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`backend answered ${res.status}`);
  const body: unknown = await res.json();
  if (!checkActive.Check(body)) {
    const first = checkActive.Errors(body).First();
    throw new Error(`backend answer does not match the expected shape: ${first?.path} ${first?.message}`);
  }
  return body;
}

/**
 * The commands that bring the store in line with the backend's answer, from what was read of the
 * store's active queues before asking (pure, for tests). Inconsistent backend queues are refused
 * (left alone, not closed either); fixable ones are corrected:
 * - `check_in` with no deadline, and not everyone checked in: deadline = now + CHECK_IN_TIMEOUT_MS;
 * - `open` at capacity: `check_in` with that deadline (the hub moves a full queue to check-in);
 * - a deadline on a queue that is not waiting for check-ins (open, in session, everyone ready): none.
 */
export function planReconciliation(
  active: ActiveQueues,
  before: ReadonlyMap<string, ReadQueue>,
  { now, checkInTimeoutMs }: { now: number; checkInTimeoutMs: number },
): ReconcilePlan {
  const plan: ReconcilePlan = { commands: [], refused: [], normalized: [] };
  const listed = new Set<string>();
  for (const q of active.queues) {
    const org_id = String(q.org_id);
    const queue_id = String(q.id);
    const name = queueName({ org_id, queue_id });
    listed.add(name);
    const capacity = q.capacity ?? DEFAULT_CAPACITY;
    const players = q.players.map((p) => ({ user_id: String(p.user_id), checked_in: p.checked_in }));
    if (players.length > capacity) {
      plan.refused.push({ queue: name, reason: "over_capacity", detail: `${players.length} players, capacity ${capacity}` });
      continue;
    }
    const ids = new Set(players.map((p) => p.user_id));
    if (ids.size < players.length) {
      const twice = players.find((p, i) => players.findIndex((o) => o.user_id === p.user_id) !== i);
      plan.refused.push({ queue: name, reason: "duplicate_players", detail: `user ${twice?.user_id} listed twice` });
      continue;
    }
    const version = q.version ?? 0;
    const read = before.get(name);
    // Redis already as new or newer: nothing to send (the state machine would refuse it anyway).
    if (read && read.version >= version) continue;

    const fixes: string[] = [];
    let status: QueueStatus = q.status;
    let deadline = deadlineOf(q.check_in_deadline);
    if (status === "open" && players.length >= capacity) {
      status = "check_in";
      fixes.push("open at capacity: check_in");
    }
    const waiting = status === "check_in" && !players.every((p) => p.checked_in);
    if (waiting && deadline === null) {
      deadline = now + checkInTimeoutMs;
      fixes.push("check_in without a deadline: now + CHECK_IN_TIMEOUT_MS");
    } else if (!waiting && deadline !== null) {
      deadline = null;
      fixes.push(`a deadline while ${status === "check_in" ? "everyone is checked in" : status}: none`);
    }
    if (fixes.length > 0) plan.normalized.push({ queue: name, fixes });

    const basedOn = read ? read.version : null;
    const sync: ReconcileCommand = {
      id: `reconcile.${org_id}.${queue_id}.v${version}.from.${basedOn ?? "none"}`,
      command: "sync",
      org_id,
      queue_id,
      snapshot: { status, capacity, players, check_in_deadline: deadline, version },
      based_on: basedOn,
    };
    plan.commands.push(sync);
  }
  for (const [name, read] of before) {
    if (listed.has(name) || read.closed) continue;
    const ref = parseQueueName(name);
    if (!ref) continue;
    const close: ReconcileCommand = {
      id: `reconcile.${ref.org_id}.${ref.queue_id}.close.v${read.version}`,
      command: "sync",
      ...ref,
      snapshot: null,
      based_on: read.version,
    };
    plan.commands.push(close);
  }
  return plan;
}

function deadlineOf(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = typeof value === "number" ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
