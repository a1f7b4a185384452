import { type Admission, type ControlMessage, issuedBefore, REVOCATION_TTL_MS, type UserSessions } from "./user-sessions.js";

/** The embedded engine's users' connections and revocations: one node, so no expiry to renew. */
export function memoryUserSessions(now: () => number = Date.now): UserSessions {
  const connections = new Map<string, Set<string>>();
  const revocations = new Map<string, { before: number; expiresAt: number }>();
  const listeners: Array<(message: ControlMessage) => void> = [];
  const userKey = (orgId: string, userId: string) => JSON.stringify([orgId, userId]);
  const revokedBefore = (orgId: string, userId: string): number | undefined => {
    const key = userKey(orgId, userId);
    const revocation = revocations.get(key);
    if (revocation && revocation.expiresAt <= now()) revocations.delete(key);
    return revocation && revocation.expiresAt > now() ? revocation.before : undefined;
  };
  const tell = (message: ControlMessage) => {
    for (const listener of listeners) listener(message);
  };

  return {
    async admit(user, connectionId, max): Promise<Admission> {
      const before = revokedBefore(user.orgId, user.userId);
      if (before !== undefined && issuedBefore(user.issuedAt, before)) return "revoked";
      const key = userKey(user.orgId, user.userId);
      let ids = connections.get(key);
      if (!ids) {
        ids = new Set();
        connections.set(key, ids);
      }
      if (!ids.has(connectionId) && ids.size >= max) return "too_many";
      ids.add(connectionId);
      return "admitted";
    },
    async connected(orgId, userId) {
      return (connections.get(userKey(orgId, userId))?.size ?? 0) > 0;
    },
    async release({ orgId, userId, connectionId }) {
      const key = userKey(orgId, userId);
      const ids = connections.get(key);
      ids?.delete(connectionId);
      if (ids?.size === 0) connections.delete(key);
    },
    async renew() {},
    async online(orgId, userId) {
      return (connections.get(userKey(orgId, userId))?.size ?? 0) > 0;
    },
    async revoked(user) {
      const before = revokedBefore(user.orgId, user.userId);
      return before !== undefined && issuedBefore(user.issuedAt, before);
    },
    async revoke(orgId, userId, before) {
      const kept = Math.max(before, revokedBefore(orgId, userId) ?? 0);
      revocations.set(userKey(orgId, userId), { before: kept, expiresAt: now() + REVOCATION_TTL_MS });
      tell({ kind: "revoke", orgId, userId, before: kept });
    },
    async disconnect(orgId, userId) {
      tell({ kind: "disconnect", orgId, userId });
    },
    onControl(listener) {
      listeners.push(listener);
    },
  };
}
