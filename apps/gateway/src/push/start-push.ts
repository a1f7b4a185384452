import type { PushSettings } from "@hub/runtime";
import type { Logger } from "pino";
import type { UserSessions } from "../protection/user-sessions.js";
import { type PushOutcome, startPushDispatcher } from "./push-dispatcher.js";
import { createPushHook, DISABLED_PUSH_HOOK, type PushHook } from "./push-hook.js";
import type { PushKind } from "./push-payload.js";
import type { PushQueue } from "./push-queue.js";

export interface StartPushOptions {
  /** `PUSH_*`; undefined (no `PUSH_WEBHOOK_URL`): the hook takes nothing. */
  settings: PushSettings | undefined;
  queue: PushQueue;
  sessions: Pick<UserSessions, "online">;
  internalSecret: string;
  logger: Logger;
  /** Told about each offer's and attempt's outcome (`hub_push_total`). Must not throw. */
  onOutcome(kind: PushKind, outcome: PushOutcome): void;
}

/**
 * A gateway's push hook: with `PUSH_WEBHOOK_URL`, a hook that queues offers and a dispatcher that
 * sends them (every gateway runs one; claims keep them apart); without, one that takes nothing.
 *
 * @example
 * const push = startPush({ settings: config.push, queue: stores.push.queue, sessions, internalSecret, logger, onOutcome });
 * push.offer({ kind: "huddle_invite", userId, orgId, envelope, event: "huddle.invite" });
 */
export function startPush({ settings, queue, sessions, internalSecret, logger, onOutcome }: StartPushOptions): PushHook {
  if (!settings) return DISABLED_PUSH_HOOK;
  const dispatcher = startPushDispatcher({ queue, sessions, settings, internalSecret, logger, onOutcome });
  return createPushHook({ queue, dispatcher, maxAgeMs: settings.maxAgeMs, logger, onOutcome });
}
