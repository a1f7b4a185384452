import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { IdLike } from "../schemas/common.js";
import type { QueuePlayer, QueueStatus } from "./queue.js";

/** Commands a backend service may send (and, for themselves, users: join, leave, check_in). */
export const COMMANDS = ["open", "join", "leave", "check_in", "start_session", "close"] as const;
export type CommandName = (typeof COMMANDS)[number];

const Id = Type.String({ pattern: "^[A-Za-z0-9_.-]{1,128}$" });

/** A queue command as producers send it (`POST /api/v1/inhouse/commands`, the SDK), as JSON Schema. */
export const QueueCommandSchema = Type.Object(
  {
    id: Type.Optional(Id),
    command: Type.Union(COMMANDS.map((c) => Type.Literal(c))),
    org_id: IdLike,
    queue_id: IdLike,
    user_id: Type.Optional(IdLike),
    capacity: Type.Optional(Type.Integer({ minimum: 2, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type QueueCommandInput = Static<typeof QueueCommandSchema>;

/** The reconciler's command: the backend's view of a queue, applied unless Redis holds newer state. */
export interface SyncCommand {
  id: string;
  command: "sync";
  org_id: string;
  queue_id: string;
  snapshot: { status: QueueStatus; capacity: number; players: QueuePlayer[]; check_in_deadline: number | null; version: number } | null;
}

/** A validated command, ids as strings; `id` always set (deduplication key). */
export type QueueCommand =
  | { id: string; command: CommandName; org_id: string; queue_id: string; user_id: string | undefined; capacity: number | undefined }
  | SyncCommand;

/** A command that cannot be accepted: the shape is wrong. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

const check = TypeCompiler.Compile(QueueCommandSchema);
/** The commands that act for a player and need its `user_id`. */
export const PLAYER_COMMANDS: ReadonlySet<string> = new Set<CommandName>(["join", "leave", "check_in"]);

/** Validates producer input; throws `CommandError` listing what is wrong. */
export function parseQueueCommand(raw: unknown, assignId: () => string): QueueCommand {
  if (!check.Check(raw)) {
    const issues = [...check.Errors(raw)].slice(0, 10).map((e) => `${e.path.slice(1).replaceAll("/", ".") || "(root)"}: ${e.message}`);
    throw new CommandError("command failed validation", issues);
  }
  const input = raw as QueueCommandInput;
  if (PLAYER_COMMANDS.has(input.command) && input.user_id === undefined) {
    throw new CommandError(`${input.command} needs user_id`, ["user_id: required for join, leave and check_in"]);
  }
  return {
    id: input.id ?? assignId(),
    command: input.command,
    org_id: String(input.org_id),
    queue_id: String(input.queue_id),
    user_id: input.user_id === undefined ? undefined : String(input.user_id),
    capacity: input.capacity,
  };
}
