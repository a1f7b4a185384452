import { type ConversationMembers, MAX_CONVERSATION_MEMBERS } from "./conversation-members.js";

/** Expired conversations are dropped every this many subscribes. */
const SWEEP_EVERY = 1_000;

/** The embedded engine's conversation members, in process. */
export function memoryConversationMembers(now: () => number = Date.now): ConversationMembers {
  const rooms = new Map<string, { members: Map<string, number>; expiresAt: number; ttlMs: number }>();
  let untilSweep = SWEEP_EVERY;
  return {
    async remember(room, userId, ttlMs) {
      const at = now();
      if (--untilSweep <= 0) {
        untilSweep = SWEEP_EVERY;
        for (const [name, entry] of rooms) if (entry.expiresAt <= at) rooms.delete(name);
      }
      const entry = rooms.get(room) ?? { members: new Map<string, number>(), expiresAt: 0, ttlMs };
      // Most recent last: re-inserted on each subscribe, the oldest dropped first.
      entry.members.delete(userId);
      entry.members.set(userId, at);
      for (const [oldest, since] of entry.members) {
        if (entry.members.size <= MAX_CONVERSATION_MEMBERS && since > at - ttlMs) break;
        entry.members.delete(oldest);
      }
      entry.expiresAt = at + ttlMs;
      entry.ttlMs = ttlMs;
      rooms.set(room, entry);
    },
    async list(room) {
      const entry = rooms.get(room);
      const at = now();
      if (!entry || entry.expiresAt <= at) return [];
      // Each member for the history window after their own last subscribe.
      return [...entry.members].filter(([, since]) => since > at - entry.ttlMs).map(([userId]) => userId);
    },
  };
}
