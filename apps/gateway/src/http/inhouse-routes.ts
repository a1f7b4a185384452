import { CommandError, parseQueueCommand, type QueueCommand, QueueCommandSchema, uuidv7 } from "@hub/events";
import type { CommandQueue } from "@hub/store";
import { Type } from "@sinclair/typebox";
import { type RequestHandler, Router } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { EngineHealth } from "../engine/engine.js";
import { engineAvailable } from "./engine-available.js";
import { HttpError } from "./http-error.js";
import { jsonBody } from "./json-body.js";
import type { RouteSpec } from "./route-spec.js";
import { serviceOnly } from "./service-auth.js";

const MAX_COMMANDS = 500;

/** `POST /api/v1/inhouse/commands`, as registered and as `/openapi.json` describes it. */
export const INHOUSE_ROUTE = {
  method: "post",
  path: "/api/v1/inhouse/commands",
  operationId: "enqueueInhouseCommands",
  tag: "inhouse queues",
  summary: "Queue commands for inhouse queues",
  description:
    "Answered once the commands are durably accepted; each queue applies its commands in this order. " +
    "`join`, `leave` and `check_in` need `user_id`. One invalid command refuses the whole request.",
  security: "service",
  body: Type.Union([
    QueueCommandSchema,
    Type.Object({ commands: Type.Array(QueueCommandSchema, { minItems: 1, maxItems: MAX_COMMANDS }) }),
  ]),
  bodyCheckedBy: "the command parser (@hub/events parseQueueCommand, QueueCommandSchema)",
  responses: { 202: { description: "Accepted: the commands' ids, in order", schema: Type.Object({ ids: Type.Array(Type.String()) }) } },
  errors: ["bad_request", "invalid_command", "unauthorized", "forbidden", "rate_limited", "payload_too_large", "unavailable", "internal"],
} as const satisfies RouteSpec;

export interface InhouseRoutesOptions {
  /** Whether Redis answers: requests are refused `503 unavailable` while it does not. */
  health: EngineHealth;
  commands: CommandQueue;
  verifier: TokenVerifier;
  /** Requests per service (serviceRateLimit). */
  rateLimit: RequestHandler;
}

/**
 * `POST /api/v1/inhouse/commands` (service token): one command or `{ commands: [...] }` ->
 * `202 { ids }` once they are durably accepted; each queue applies its commands in this order.
 */
export function inhouseRoutes({ health, commands, verifier, rateLimit }: InhouseRoutesOptions): Router {
  const router = Router();
  router.post(INHOUSE_ROUTE.path, serviceOnly(verifier), rateLimit, engineAvailable(health), jsonBody, async (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError("bad_request", "body must be one command or { commands: [...] }");
    }
    const list = "commands" in body ? (body as { commands: unknown }).commands : [body];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_COMMANDS) {
      throw new HttpError("bad_request", `commands must be a list of 1 to ${MAX_COMMANDS} commands`);
    }
    const parsed: QueueCommand[] = [];
    const issues: string[] = [];
    list.forEach((raw, index) => {
      try {
        parsed.push(parseQueueCommand(raw, uuidv7));
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        for (const issue of error.issues.length > 0 ? error.issues : [error.message]) issues.push(`commands.${index}.${issue}`);
      }
    });
    if (issues.length > 0) throw new HttpError("invalid_command", "some commands are invalid; none was accepted", issues);
    await commands.enqueue(parsed);
    res.status(202).json({ ids: parsed.map((c) => c.id) });
  });
  return router;
}
