import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

function lua(name: string): string {
  return readFileSync(new URL(`./${name}.lua`, import.meta.url), "utf8");
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
}

const SCRIPTS = [
  ["hubPublish", "publish-1"],
  ["hubDeadLetter", "deadLetter-3"],
] as const;

/** Registers the scripts on a client (once per client) and returns it typed with them. */
export function withHubCommands(redis: Redis): Redis & HubCommands {
  const client = redis as Redis & Partial<HubCommands>;
  for (const [command, file] of SCRIPTS) {
    if (typeof client[command] !== "function") {
      redis.defineCommand(command, { numberOfKeys: Number(file.split("-").at(-1)), lua: lua(file) });
    }
  }
  return client as Redis & HubCommands;
}
