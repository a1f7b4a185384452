import { luaCommands } from "./lua-commands.js";

/** What publishBatch-n.lua answers for each delivery. */
export const PUBLISH_OUTCOME = { duplicate: 0, delivered: 1 } as const;

/** What deadLetterAdmit-1.lua answers. */
export const DEAD_LETTER_ADMISSION = { full: 0, admitted: 1 } as const;

/** The storage scripts as commands of an ioredis client; each file's suffix is its KEYS count. */
export interface HubCommands {
  /**
   * Deliveries on the topics of one hash tag, in order (publishBatch-n.lua): the key count, each
   * topic's history stream and meta, each delivery's dedupe key, then the arguments. Answers an
   * outcome per delivery (an Error for one that failed after its claim).
   */
  hubPublishBatch(
    numberOfKeys: number,
    ...keysThenArgs: Array<string | number | Buffer>
  ): Promise<Array<(typeof PUBLISH_OUTCOME)[keyof typeof PUBLISH_OUTCOME] | Error>>;
  /** A durable client publication on one topic: dedupe key, history stream and meta, the bucket's client-event stream (publishClient-4.lua). */
  hubPublishClient(
    dedupe: string,
    stream: string,
    meta: string,
    clientEvents: string,
    windowMs: number,
    salt: string,
    sharded: "0" | "1",
    channel: string,
    message: Buffer,
    offsetAt: number,
    historySize: number,
    historyTtlMs: number,
    envelope: string,
    streamLength: number,
    sender: string,
  ): Promise<[outcome: 0 | 1, offset: number, epoch: string] | [outcome: 2]>;
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
  /** One letter into one stream of an org: the stream, the org's index, the fingerprint key (deadLetter-3.lua). */
  hubDeadLetter(
    stream: string,
    index: string,
    seenKey: string,
    streamName: string,
    maxLen: number,
    seenMs: number,
    ttlMs: number,
    nowMs: number,
    ...fieldValuePairs: string[]
  ): Promise<string | null>;
  /** Records a name in a dead-letter index unless it holds `cap` others: a source's streams, the orgs (deadLetterAdmit-1.lua). */
  hubDeadLetterAdmit(
    index: string,
    name: string,
    nowMs: number,
    ttlMs: number,
    cap: number,
  ): Promise<(typeof DEAD_LETTER_ADMISSION)[keyof typeof DEAD_LETTER_ADMISSION]>;
  /** The names a dead-letter index holds within their lifetime (deadLetterNames-1.lua). */
  hubDeadLetterNames(index: string, nowMs: number, ttlMs: number): Promise<string[]>;
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
  hubPublishBatch: "publishBatch-n",
  hubPublishClient: "publishClient-4",
  hubReadHistory: "readHistory-3",
  hubAcknowledge: "acknowledge-2",
  hubDeadLetter: "deadLetter-3",
  hubDeadLetterAdmit: "deadLetterAdmit-1",
  hubDeadLetterNames: "deadLetterNames-1",
  hubEnqueueCommand: "enqueueCommand-4",
});
