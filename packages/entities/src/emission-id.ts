import { createHash } from "node:crypto";

/** Longest event id the hub accepts. */
const MAX_ID = 128;

/**
 * A deterministic event id from its parts (`call.<id>.3.answered`): the same change always yields
 * the same id, so a repeated delivery is deduplicated. Ids longer than an event id may be are hashed.
 */
export function emissionId(...parts: Array<string | number>): string {
  const id = parts.join(".");
  return id.length <= MAX_ID ? id : `${String(parts[0])}.${createHash("sha256").update(id).digest("hex")}`;
}
