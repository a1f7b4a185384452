import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * Registers Lua files as commands of a client, once per client. A file's name ends in its KEYS
 * count (`deadLetter-3.lua`), or in `n` when the caller passes the count first (`publish-n.lua`);
 * `dir` is the URL of the folder holding them.
 */
export function registerLua(redis: Redis, dir: URL, scripts: ReadonlyArray<readonly [command: string, file: string]>): void {
  const client = redis as unknown as Record<string, unknown>;
  for (const [command, file] of scripts) {
    if (typeof client[command] === "function") continue;
    const keys = file.split("-").at(-1);
    const lua = readFileSync(new URL(`${file}.lua`, dir), "utf8");
    redis.defineCommand(command, keys === "n" ? { lua } : { numberOfKeys: Number(keys), lua });
  }
}

/** The hub's Lua scripts as commands of an ioredis client; each file's suffix is its KEYS count. */
export interface HubCommands {
  /** `keyCount` keys (the dedupe key, then stream + meta per delivery with history), then the arguments. */
  hubPublish(keyCount: number, ...keysAndArgs: Array<string | number | Buffer>): Promise<0 | 1>;
  /** The Buffer variant ioredis defines for every script: broadcasts are binary. */
  hubReadHistoryBuffer(
    stream: string,
    meta: string,
    cursor: string,
    emptyEpoch: string,
    sinceOffset: number,
    sinceEpoch: string,
    fromCursor: 0 | 1,
  ): Promise<[epoch: Buffer, top: number, matched: 0 | 1, entries: Array<[id: Buffer, fields: Buffer[]]>, nowMs: number]>;
  hubAcknowledge(meta: string, cursor: string, offset: number, epoch: string, ttlMs: number): Promise<number>;
  hubDeadLetter(
    stream: string,
    index: string,
    seenKey: string,
    sourceIndex: string,
    overflowStream: string,
    streamName: string,
    maxLen: number,
    seenMs: number,
    ttlMs: number,
    nowMs: number,
    maxStreamsPerSource: number,
    overflowStreamName: string,
    ...fieldValuePairs: string[]
  ): Promise<[id: string, overflowed: 0 | 1] | null>;
  hubDeadLetterStreams(index: string, nowMs: number, ttlMs: number): Promise<string[]>;
  hubEnqueueCommand(
    seenKey: string,
    stream: string,
    active: string,
    state: string,
    windowMs: number,
    name: string,
    wake: string,
    json: string,
    onlyOpenQueue: "0" | "1",
  ): Promise<string | number>;
}

const SCRIPTS = [
  ["hubPublish", "publish-n"],
  ["hubReadHistory", "readHistory-3"],
  ["hubAcknowledge", "acknowledge-2"],
  ["hubDeadLetter", "deadLetter-5"],
  ["hubDeadLetterStreams", "deadLetterStreams-1"],
  ["hubEnqueueCommand", "enqueueCommand-4"],
] as const;

/** Registers the scripts on a client (once per client) and returns it typed with them. */
export function withHubCommands(redis: Redis): Redis & HubCommands {
  registerLua(redis, new URL("./", import.meta.url), SCRIPTS);
  return redis as Redis & HubCommands;
}
