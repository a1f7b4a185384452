import { createHash, randomBytes } from "node:crypto";

/** Length of a conversation's key, the first part of its huddles' ids. */
const KEY_LENGTH = 22;
const HUDDLE_ID = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{8}$/;

/**
 * The entity a conversation's huddle lives in: a digest of (org, conversation), so one conversation
 * has one huddle at a time, and two orgs' conversations with the same id never share one.
 */
export function conversationKey(orgId: string, conversationId: string): string {
  return createHash("sha256").update(`${orgId}\n${conversationId}`).digest("base64url").slice(0, KEY_LENGTH);
}

/** A new huddle id of a conversation: its key, a dot, and 8 random characters (each huddle of it differs). */
export function newHuddleId(key: string): string {
  return `${key}.${randomBytes(6).toString("base64url")}`;
}

/** The conversation key a huddle id names; undefined for anything that is not a huddle id. */
export function keyOfHuddle(huddleId: string): string | undefined {
  return HUDDLE_ID.exec(huddleId)?.[1];
}
