import { luaCommands } from "@hub/store";

/** What join-4.lua answers. */
export const JOIN_OUTCOME = { swept: -1, alreadyRecorded: 0, recorded: 1, announced: 2 } as const;
export type JoinOutcome = (typeof JOIN_OUTCOME)[keyof typeof JOIN_OUTCOME];

/** How a script announces: `"1"` SPUBLISH (sharded pub/sub), `"0"` PUBLISH; the topic's channel; the message. */
export type Announcement = [sharded: "0" | "1", channel: string, message: Buffer];

/**
 * The presence scripts. Each touches the keys of one Redis Cluster slot: the registry
 * (`keys.presenceNodes`), one node (`keys.presenceNode`), or one topic (`keys.presence`, whose
 * channel is in the same slot).
 */
export interface PresenceCommands {
  hubPresenceHeartbeat(
    nodes: string,
    registration: string,
    maxAgeMs: number,
    limit: number,
    add: "0" | "1",
  ): Promise<[lost: 0 | 1, ...dead: string[]]>;
  hubPresenceClaim(nodes: string, registration: string, maxAgeMs: number): Promise<0 | 1>;
  hubPresenceRegister(registrationHash: string): Promise<number>;
  hubPresenceAddTopic(registrationHash: string, topics: string, incarnation: number, topic: string): Promise<1 | -1>;
  hubPresenceSeal(registrationHash: string, topics: string, incarnation: number, ttlMs: number): Promise<string[]>;
  hubPresenceJoin(
    entries: string,
    fence: string,
    counts: string,
    since: string,
    incarnation: number,
    connectionId: string,
    userId: string,
    orgId: string,
    now: number,
    ...announcement: Announcement
  ): Promise<JoinOutcome>;
  hubPresenceLeave(
    entries: string,
    counts: string,
    since: string,
    meta: string,
    connectionId: string,
    userId: string,
    ...announcement: Announcement
  ): Promise<0 | 1 | 2>;
  hubPresenceRemoveTopic(
    entries: string,
    fence: string,
    counts: string,
    since: string,
    meta: string,
    incarnation: number,
    fenceTtlMs: number,
    sharded: "0" | "1",
    channel: string,
    ...userMessages: Array<string | Buffer>
  ): Promise<[status: 1 | -1, ...announced: string[]]>;
  hubPresenceUpdate(
    entries: string,
    meta: string,
    connectionId: string,
    userId: string,
    now: number,
    json: string,
    ...announcement: Announcement
  ): Promise<-1 | 0 | 1>;
  hubPresenceDropFields(hash: string, prefix: string): Promise<number>;
}

/** Registers the presence scripts on a client. */
export const withPresenceCommands = luaCommands<PresenceCommands>(new URL("./lua/", import.meta.url), {
  hubPresenceHeartbeat: "heartbeat-1",
  hubPresenceClaim: "claim-1",
  hubPresenceRegister: "register-1",
  hubPresenceAddTopic: "addTopic-2",
  hubPresenceSeal: "seal-2",
  hubPresenceJoin: "join-4",
  hubPresenceLeave: "leave-4",
  hubPresenceRemoveTopic: "removeTopic-5",
  hubPresenceUpdate: "update-2",
  hubPresenceDropFields: "dropFields-1",
});

/** One registration of a node in `keys.presenceNodes`: the node and the incarnation its entries are recorded under. */
export interface Registration {
  nodeId: string;
  incarnation: number;
}

export function registrationOf({ nodeId, incarnation }: Registration): string {
  return `${nodeId}\n${incarnation}`;
}

/** Reads a `keys.presenceNodes` member; the incarnation is digits, so the node id is what precedes the last newline. */
export function parseRegistration(member: string): Registration {
  const at = member.lastIndexOf("\n");
  if (at < 0) return { nodeId: member, incarnation: 0 };
  return { nodeId: member.slice(0, at), incarnation: Number(member.slice(at + 1)) };
}
