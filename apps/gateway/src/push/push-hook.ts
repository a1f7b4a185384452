import type { Logger } from "pino";
import type { PushDispatcher, PushOutcome } from "./push-dispatcher.js";
import { buildPayload, type PushCandidate, type PushKind, pushEntryId } from "./push-payload.js";
import type { PushQueue } from "./push-queue.js";

/** Offers not yet written to the queue, at most, per gateway; more are dropped (counted). */
export const MAX_PENDING_OFFERS = 10_000;

/**
 * Where delivery paths offer events for a push to an offline user (docs/operations.md "Push hook").
 * `offer` returns at once and never throws: queueing happens in the background, so a slow Redis or
 * a dead push endpoint never holds up a delivery.
 */
export interface PushHook {
  /** Whether pushes are on (`PUSH_WEBHOOK_URL` is set): sources may skip the work of finding candidates. */
  readonly enabled: boolean;
  /** Queues a push of the event for the user, once per (event id, user); sent unless they are online by then (see `PUSHED_ONLY_OFFLINE`). */
  offer(candidate: PushCandidate): void;
  /** Stops taking offers and stops the dispatcher. */
  close(): Promise<void>;
}

/** The hook of a hub without `PUSH_WEBHOOK_URL`: takes nothing. */
export const DISABLED_PUSH_HOOK: PushHook = { enabled: false, offer() {}, async close() {} };

export interface PushHookOptions {
  queue: PushQueue;
  /** Woken when something was queued; closed with the hook. */
  dispatcher: PushDispatcher;
  /** `PUSH_MAX_AGE_MS`: how long an offered push is remembered for deduplication (and retried). */
  maxAgeMs: number;
  logger: Logger;
  /** Told about each offer's outcome (`queued`, `duplicate`, `dropped`). Must not throw. */
  onOutcome(kind: PushKind, outcome: PushOutcome): void;
  /** Offers being written at once, at most. @default MAX_PENDING_OFFERS */
  maxPendingOffers?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * The push hook of a gateway with `PUSH_WEBHOOK_URL`.
 *
 * @example
 * const push = createPushHook({ queue, dispatcher, maxAgeMs: 86_400_000, logger, onOutcome });
 * push.offer({ kind: "call", userId: "7", orgId: "42", envelope, event: "call.incoming" });
 */
export function createPushHook(options: PushHookOptions): PushHook {
  const { queue, dispatcher, logger, onOutcome } = options;
  const maxPending = options.maxPendingOffers ?? MAX_PENDING_OFFERS;
  const now = options.now ?? Date.now;
  let pending = 0;
  let closed = false;

  return {
    enabled: true,
    offer(candidate) {
      if (closed) return;
      if (pending >= maxPending) {
        onOutcome(candidate.kind, "dropped");
        return;
      }
      const payload = buildPayload(candidate);
      pending++;
      queue
        .offer(pushEntryId(payload), { payload, offeredAt: now(), attempts: 0 }, options.maxAgeMs)
        .then((outcome) => {
          onOutcome(candidate.kind, outcome);
          if (outcome === "queued") dispatcher.wake();
        })
        .catch((error: unknown) => {
          onOutcome(candidate.kind, "dropped");
          logger.warn({ err: error, push_id: payload.id, kind: payload.kind }, "push could not be queued; dropped");
        })
        .finally(() => pending--);
    },
    async close() {
      closed = true;
      await dispatcher.close();
    },
  };
}
