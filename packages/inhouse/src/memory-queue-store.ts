import { randomUUID } from "node:crypto";
import { type QueueCommand, queueName } from "@hub/events";
import { DEDUPE_WINDOW_MS, RecentIds } from "@hub/store";
import type { PendingCommand, QueueStore, StoredQueue } from "./queue-store.js";
import type { Emission } from "./transitions.js";

interface Slot {
  stored: StoredQueue;
  commands: Array<{ seq: number; command: QueueCommand; acceptedAt: number }>;
  nextSeq: number;
  outbox: Emission[];
  lease: { token: string; expiresAt: number } | undefined;
}

/** The embedded engine's queue store: the same contract as Redis, kept in this process. */
export function memoryQueueStore(now: () => number = Date.now): QueueStore {
  const slots = new Map<string, Slot>();
  const active = new Set<string>();
  const deadlines = new Map<string, number>();
  const seen = new RecentIds(DEDUPE_WINDOW_MS);
  const listeners: Array<(name: string) => void> = [];

  const slot = (name: string): Slot => {
    let s = slots.get(name);
    if (!s) {
      s = { stored: { queue: null, version: -1, cursor: "0-0" }, commands: [], nextSeq: 1, outbox: [], lease: undefined };
      slots.set(name, s);
    }
    return s;
  };
  const holds = (name: string, token: string) => {
    const lease = slots.get(name)?.lease;
    return lease !== undefined && lease.token === token && lease.expiresAt > now();
  };
  const seqOf = (cursor: string) => Number(cursor.split("-")[0]);

  const enqueue = async (commands: readonly QueueCommand[]) =>
    commands.map((command) => {
      const name = queueName(command);
      // Per queue and command id, as in Redis (where the key lives in the queue's slot).
      if (!seen.claim(`${name}\n${command.id}`)) return false;
      const s = slot(name);
      s.commands.push({ seq: s.nextSeq++, command, acceptedAt: now() });
      active.add(name);
      queueMicrotask(() => {
        for (const listener of listeners) listener(name);
      });
      return true;
    });

  return {
    commands: {
      enqueue,
      async enqueueForUser(command) {
        const queue = slots.get(queueName(command))?.stored.queue;
        if (!queue || queue.status === "closed") return "no_queue";
        const [accepted] = await enqueue([command]);
        return accepted ? "accepted" : "duplicate";
      },
    },
    activeQueues: async () => [...active],
    dueDeadlines: async (at, limit) =>
      [...deadlines]
        .filter(([, due]) => due <= at)
        .slice(0, limit)
        .map(([name]) => name),
    unleased: async (names) => names.filter((name) => !((slots.get(name)?.lease?.expiresAt ?? 0) > now())),
    async acquire(name, ttlMs) {
      const s = slot(name);
      if (s.lease && s.lease.expiresAt > now()) return null;
      s.lease = { token: randomUUID(), expiresAt: now() + ttlMs };
      return { name, token: s.lease.token };
    },
    async extend(leases, ttlMs) {
      return leases.map((lease) => {
        if (!holds(lease.name, lease.token)) return false;
        slot(lease.name).lease = { token: lease.token, expiresAt: now() + ttlMs };
        return true;
      });
    },
    async release(lease) {
      if (holds(lease.name, lease.token)) slot(lease.name).lease = undefined;
    },
    pendingWork: async (names) =>
      names.map((name) => {
        const s = slot(name);
        return s.outbox.length > 0 || s.commands.some((c) => c.seq > seqOf(s.stored.cursor));
      }),
    load: async (name) => structuredClone(slot(name).stored),
    async pending(name, cursor, count): Promise<PendingCommand[]> {
      const after = seqOf(cursor);
      return slot(name)
        .commands.filter((c) => c.seq > after)
        .slice(0, count)
        .map((c) => ({ cursor: `${c.seq}-0`, command: structuredClone(c.command), acceptedAt: c.acceptedAt }));
    },
    async commit(lease, change) {
      if (!holds(change.name, lease.token)) return "lease_lost";
      const s = slot(change.name);
      if (s.stored.version !== change.expectedVersion) return "conflict";
      if (change.queue) {
        s.stored = { queue: structuredClone(change.queue), version: change.queue.version, cursor: change.cursor };
        if (change.queue.check_in_deadline === null) deadlines.delete(change.name);
        else deadlines.set(change.name, change.queue.check_in_deadline);
      }
      s.stored.cursor = change.cursor;
      s.commands = s.commands.filter((c) => c.seq > seqOf(change.cursor));
      s.outbox.push(...structuredClone(change.emissions));
      return "ok";
    },
    outbox: async (lease) => (holds(lease.name, lease.token) ? structuredClone(slot(lease.name).outbox.slice(0, 100)) : null),
    async ackOutbox(lease, count) {
      if (!holds(lease.name, lease.token)) return false;
      slot(lease.name).outbox.splice(0, count);
      return true;
    },
    async retire(lease, cursor) {
      const s = slot(lease.name);
      if (!holds(lease.name, lease.token) || s.commands.some((c) => c.seq > seqOf(cursor))) return false;
      active.delete(lease.name);
      deadlines.delete(lease.name);
      s.lease = undefined;
      // A queue that was never opened keeps nothing (its commands were refused).
      if (s.stored.queue === null) slots.delete(lease.name);
      return true;
    },
    onWake(listener) {
      listeners.push(listener);
    },
    async close() {},
  };
}
