import { luaCommands } from "./lua-commands.js";

/** What publish-3.lua answers. */
export const PUBLISH_OUTCOME = { duplicate: 0, delivered: 1 } as const;

/** The storage scripts as commands of an ioredis client; each file's suffix is its KEYS count. */
export interface HubCommands {
  /** One event on one topic: its dedupe key, history stream and meta, then the arguments (publish-3.lua). */
  hubPublish(
    dedupe: string,
    stream: string,
    meta: string,
    windowMs: number,
    salt: string,
    sharded: "0" | "1",
    channel: string,
    message: Buffer,
    offsetAt: number,
    historySize: number,
    historyTtlMs: number,
  ): Promise<(typeof PUBLISH_OUTCOME)[keyof typeof PUBLISH_OUTCOME]>;
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

/** Registers the scripts on a client (once per client) and returns it typed with them. */
export const withHubCommands = luaCommands<HubCommands>(new URL("./", import.meta.url), {
  hubPublish: "publish-3",
  hubReadHistory: "readHistory-3",
  hubAcknowledge: "acknowledge-2",
  hubDeadLetter: "deadLetter-5",
  hubDeadLetterStreams: "deadLetterStreams-1",
  hubEnqueueCommand: "enqueueCommand-4",
});
