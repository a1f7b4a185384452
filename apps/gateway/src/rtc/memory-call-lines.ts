import type { CallLines } from "./call-lines.js";

/** Call lines of the embedded engine, in this process. */
export function memoryCallLines(): CallLines {
  const lines = new Map<string, string>();
  const key = (orgId: string, userId: string) => `${orgId}\n${userId}`;
  return {
    async read(orgId, userId) {
      return lines.get(key(orgId, userId)) ?? null;
    },
    async claim(orgId, userId, expected, line) {
      if ((lines.get(key(orgId, userId)) ?? null) !== expected) return false;
      lines.set(key(orgId, userId), line);
      return true;
    },
  };
}
