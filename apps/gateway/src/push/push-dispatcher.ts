import type { PushSettings } from "@hub/runtime";
import type { Logger } from "pino";
import { hubBearer } from "../auth/hub-bearer.js";
import type { UserSessions } from "../protection/user-sessions.js";
import { retryDelay } from "./push-backoff.js";
import { PUSHED_ONLY_OFFLINE, type PushKind, type PushPayload } from "./push-payload.js";
import type { ClaimedPush, PushQueue } from "./push-queue.js";

/** The audience of the service token a push is POSTed with (its subject is `hub`). */
export const PUSH_AUDIENCE = "hub-push";
/** How long a claim outlives an attempt's timeout: the online check and the settling step fit in it. */
const LEASE_MARGIN_MS = 10_000;
/** The longest a dispatcher sleeps between looks at the queue (pushes other nodes queued or put back). */
const MAX_POLL_MS = 1_000;

/** How an offer or an attempt ended (`hub_push_total{outcome}`). */
export type PushOutcome = "queued" | "duplicate" | "sent" | "retried" | "given_up" | "skipped_online" | "dropped";

export const PUSH_OUTCOMES: readonly PushOutcome[] = ["queued", "duplicate", "sent", "retried", "given_up", "skipped_online", "dropped"];

export interface PushDispatcherOptions {
  queue: PushQueue;
  /** Who is online, cluster-wide. */
  sessions: Pick<UserSessions, "online">;
  settings: PushSettings;
  /** `INTERNAL_JWT_SECRET`: signs the service token each push carries. */
  internalSecret: string;
  logger: Logger;
  /** Told about each attempt's outcome. Must not throw. */
  onOutcome(kind: PushKind, outcome: PushOutcome): void;
  /** @default Math.random */
  random?: () => number;
  /** @default Date.now */
  now?: () => number;
}

/** Sends due pushes; runs on every gateway with `PUSH_WEBHOOK_URL` (claims keep two from sending one at once). */
export interface PushDispatcher {
  /** Looks at the queue now (a push was queued). */
  wake(): void;
  /** Stops; attempts in flight are abandoned and sent again once their claims end. */
  close(): Promise<void>;
}

/**
 * Claims due pushes, at most `PUSH_CONCURRENCY` in flight, and POSTs each to `PUSH_WEBHOOK_URL`: a
 * 2xx answer removes it, anything else (or none within `PUSH_TIMEOUT_MS`) puts it back with
 * exponential backoff (`retryDelay`) until `PUSH_MAX_AGE_MS` after its offer, then it is given up.
 * A push of a kind sent only to offline users (`PUSHED_ONLY_OFFLINE`) is dropped when the user is
 * online by then. Nothing here is awaited by a delivery path.
 *
 * @example
 * const dispatcher = startPushDispatcher({ queue, sessions, settings, internalSecret, logger, onOutcome });
 * dispatcher.wake();
 */
export function startPushDispatcher(options: PushDispatcherOptions): PushDispatcher {
  const { queue, sessions, settings, logger, onOutcome } = options;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const leaseMs = settings.timeoutMs + LEASE_MARGIN_MS;
  const pollMs = Math.min(MAX_POLL_MS, settings.retryBaseMs);
  const stopping = new AbortController();
  const attempts = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let looking = false;
  let lookAgain = false;

  const serviceToken = hubBearer(options.internalSecret, PUSH_AUDIENCE, now);

  /** Whether the endpoint took the push (answered 2xx in time). */
  async function post(payload: PushPayload): Promise<boolean> {
    try {
      const response = await fetch(settings.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await serviceToken()}` },
        body: JSON.stringify(payload),
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(settings.timeoutMs)]),
      });
      await response.body?.cancel();
      return response.ok;
    } catch (error) {
      logger.debug({ err: error, push_id: payload.id, kind: payload.kind }, "push endpoint did not answer");
      return false;
    }
  }

  async function attempt(push: ClaimedPush): Promise<void> {
    const { payload, offeredAt } = push.pending;
    if (PUSHED_ONLY_OFFLINE.has(payload.kind) && (await sessions.online(payload.org_id, payload.user_id))) {
      await queue.remove(push);
      onOutcome(payload.kind, "skipped_online");
      return;
    }
    const sent = await post(payload);
    // Closing aborted it: its claim ends and a dispatcher sends it again.
    if (stopping.signal.aborted) return;
    if (sent) {
      await queue.remove(push);
      onOutcome(payload.kind, "sent");
      return;
    }
    const failures = push.pending.attempts + 1;
    const delayMs = retryDelay(failures, settings.retryBaseMs, random);
    if (now() + delayMs > offeredAt + settings.maxAgeMs) {
      await queue.remove(push);
      onOutcome(payload.kind, "given_up");
      logger.warn(
        { push_id: payload.id, kind: payload.kind, org_id: payload.org_id, user_id: payload.user_id, attempts: failures },
        "push given up: the endpoint did not take it within PUSH_MAX_AGE_MS",
      );
      return;
    }
    await queue.retry({ entryId: push.entryId, pending: { ...push.pending, attempts: failures } }, delayMs);
    onOutcome(payload.kind, "retried");
  }

  function start(push: ClaimedPush): void {
    const running: Promise<void> = attempt(push)
      .catch((error: unknown) =>
        logger.warn(
          { err: error, push_id: push.pending.payload.id },
          "push attempt failed to settle; it is sent again when its claim ends",
        ),
      )
      .finally(() => {
        attempts.delete(running);
        // A slot is free: there may be more due.
        if (attempts.size === settings.concurrency - 1) wake();
      });
    attempts.add(running);
  }

  /** Claims what is due while there are free slots; one look at a time. */
  async function look(): Promise<void> {
    if (looking) {
      lookAgain = true;
      return;
    }
    looking = true;
    try {
      do {
        lookAgain = false;
        const free = settings.concurrency - attempts.size;
        if (free <= 0 || stopping.signal.aborted) break;
        const claimed = await queue.claim(leaseMs, free);
        if (stopping.signal.aborted) break;
        for (const push of claimed) start(push);
        if (claimed.length === free) lookAgain = true;
      } while (lookAgain);
    } catch (error) {
      logger.warn({ err: error }, "could not claim due pushes");
    } finally {
      looking = false;
      if (!stopping.signal.aborted) {
        clearTimeout(timer);
        timer = setTimeout(wake, pollMs);
      }
    }
  }

  function wake(): void {
    if (!stopping.signal.aborted) void look();
  }

  wake();
  return {
    wake,
    async close() {
      stopping.abort();
      clearTimeout(timer);
      await Promise.allSettled([...attempts]);
    },
  };
}
