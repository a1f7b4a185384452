import type { QueueCommand } from "@hub/events";
import { parseQueueName } from "@hub/events";
import type { QueueStore } from "@hub/inhouse";
import type { HubConfig } from "@hub/runtime";
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { SignJWT } from "jose";
import type { Logger } from "pino";

/** What `GET ${BACKEND_API_URL}/internal/inhouse_queues/active` must answer (documented in the README). */
export const ActiveQueuesSchema = Type.Object({
  queues: Type.Array(
    Type.Object({
      id: Type.Union([Type.String({ pattern: "^[A-Za-z0-9_.-]{1,128}$" }), Type.Integer({ minimum: 0 })]),
      org_id: Type.Union([Type.String({ pattern: "^[A-Za-z0-9_.-]{1,128}$" }), Type.Integer({ minimum: 0 })]),
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
type ActiveQueues = Static<typeof ActiveQueuesSchema>;
const checkActive = TypeCompiler.Compile(ActiveQueuesSchema);

/** How one reconciliation attempt ended: `failed` ones are retried with backoff. */
export type ReconcilerRunOutcome = "succeeded" | "failed";

export interface ReconcilerOptions {
  config: HubConfig;
  store: QueueStore;
  logger: Logger;
  /** @default fetch */
  fetch?: typeof fetch;
  /** Told how each attempt ended, for metrics. */
  onRun?: (outcome: ReconcilerRunOutcome) => void;
}

export interface Reconciler {
  /** Resolves when the first reconciliation succeeded (or immediately when it is disabled). */
  readonly done: Promise<void>;
  stop(): void;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * On boot, brings Redis in line with the backend: creates queues Redis lacks, closes queues the
 * backend no longer lists, leaves newer Redis state alone. It works through `sync` commands with
 * deterministic ids, so several workers booting at once apply each change once, in queue order.
 * Retries with backoff while the backend is down, without holding up anything else.
 */
export function startReconciler({ config, store, logger, fetch: fetchImpl = fetch, onRun }: ReconcilerOptions): Reconciler {
  const url = config.backendApiUrl;
  if (!url) {
    logger.info("reconciler disabled (no BACKEND_API_URL)");
    return { done: Promise.resolve(), stop() {} };
  }
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  const attempt = async (tries: number): Promise<void> => {
    if (stopped) return;
    try {
      const active = await fetchActive(`${url.replace(/\/$/, "")}/internal/inhouse_queues/active`, config.auth.internalSecret, fetchImpl);
      const commands = await reconcile(active, store);
      await store.commands.enqueue(commands);
      logger.info({ backend_queues: active.queues.length, commands: commands.length, tries }, "reconciled inhouse queues with the backend");
      onRun?.("succeeded");
      resolveDone();
    } catch (error) {
      onRun?.("failed");
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(tries, 10));
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

async function reconcile(active: ActiveQueues, store: QueueStore): Promise<QueueCommand[]> {
  const listed = new Set<string>();
  const commands: QueueCommand[] = [];
  for (const q of active.queues) {
    const org_id = String(q.org_id);
    const queue_id = String(q.id);
    listed.add(`${org_id}/${queue_id}`);
    const version = q.version ?? 0;
    commands.push({
      id: `reconcile.${org_id}.${queue_id}.v${version}`,
      command: "sync",
      org_id,
      queue_id,
      snapshot: {
        status: q.status,
        capacity: q.capacity ?? 10,
        players: q.players.map((p) => ({ user_id: String(p.user_id), checked_in: p.checked_in })),
        check_in_deadline: deadlineOf(q.check_in_deadline),
        version,
      },
    });
  }
  for (const name of await store.activeQueues()) {
    if (listed.has(name)) continue;
    const ref = parseQueueName(name);
    const stored = await store.load(name);
    if (!ref || !stored.queue || stored.queue.status === "closed") continue;
    commands.push({ id: `reconcile.${ref.org_id}.${ref.queue_id}.close.v${stored.version}`, command: "sync", ...ref, snapshot: null });
  }
  return commands;
}

function deadlineOf(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = typeof value === "number" ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
