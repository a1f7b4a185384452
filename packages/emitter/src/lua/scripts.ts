import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * Registers Lua files as commands of a client, once per client. A file's name ends in its KEYS
 * count (`publish-1.lua`); `dir` is the URL of the folder holding them.
 */
export function registerLua(redis: Redis, dir: URL, scripts: ReadonlyArray<readonly [command: string, file: string]>): void {
  const client = redis as unknown as Record<string, unknown>;
  for (const [command, file] of scripts) {
    if (typeof client[command] === "function") continue;
    redis.defineCommand(command, { numberOfKeys: Number(file.split("-").at(-1)), lua: readFileSync(new URL(`${file}.lua`, dir), "utf8") });
  }
}

/** The hub's Lua scripts as commands of an ioredis client; each file's suffix is its KEYS count. */
export interface HubCommands {
  hubPublish(dedupeKey: string, windowMs: number, ...channelMessagePairs: Array<string | Buffer>): Promise<0 | 1>;
  hubDeadLetter(
    stream: string,
    index: string,
    seenKey: string,
    streamName: string,
    maxLen: number,
    seenMs: number,
    ...fieldValuePairs: string[]
  ): Promise<string | null>;
  hubEnqueueCommand(
    seenKey: string,
    stream: string,
    active: string,
    state: string,
    windowMs: number,
    name: string,
    wake: string,
    json: string,
  ): Promise<string | null>;
}

const SCRIPTS = [
  ["hubPublish", "publish-1"],
  ["hubDeadLetter", "deadLetter-3"],
  ["hubEnqueueCommand", "enqueueCommand-4"],
] as const;

/** Registers the scripts on a client (once per client) and returns it typed with them. */
export function withHubCommands(redis: Redis): Redis & HubCommands {
  registerLua(redis, new URL("./", import.meta.url), SCRIPTS);
  return redis as Redis & HubCommands;
}
