import type { Envelope } from "@hub/events";
import { type EventSink, senderOf } from "./event-sink.js";
import type { MemoryHistory } from "./memory-history.js";
import type { RecentIds } from "./recent-ids.js";

/** Client publication positions the memory sink remembers at most (as many as its dedupe ids). */
const MAX_POSITIONS = 100_000;

/**
 * Hands one topic's envelope to the local sockets (and whatever watches broadcasts). Throws when
 * the envelope cannot be encoded (a payload nested deeper than the stack): nothing was emitted then.
 */
export type LocalBroadcast = (topic: string, clientEvent: string, envelope: Envelope) => void;

/**
 * Delivers in this process, for a single node without Redis: claims the event id in `recent`,
 * appends to the history of each topic that keeps one, and broadcasts, one topic after the other.
 * The same contract as `redisEventSink`, kept in memory. `broadcasted`, when given, is told of each
 * broadcast once it went out (the live tap, metrics): what it throws does not release the id.
 */
export function memoryEventSink(
  broadcast: LocalBroadcast,
  recent: RecentIds,
  history: MemoryHistory,
  broadcasted?: LocalBroadcast,
): EventSink {
  // Who published each recent client publication id, and where it went: a duplicate is answered
  // with its first position, an id somebody else used is a conflict.
  const positions = new Map<string, { sender: string; offset: number; epoch: string }>();
  return {
    async deliver(event, outgoing) {
      const key = `${event.orgId}:${event.id}`;
      if (!recent.claim(key)) return false;
      let emitted = 0;
      try {
        for (const delivery of outgoing) {
          const { topic, clientEvent } = delivery;
          const envelope = delivery.history ? history.append(topic, delivery.history, delivery) : delivery.envelope;
          broadcast(topic, clientEvent, envelope);
          emitted++;
          broadcasted?.(topic, clientEvent, envelope);
        }
      } catch (error) {
        // Not delivered anywhere: the id is not spent, so a corrected retry with it is not taken for
        // a duplicate. Once a topic has it, a retry would deliver it there twice: the id stays spent.
        if (emitted === 0) recent.release(key);
        throw error;
      }
      return true;
    },
    // One node keeps no client-event streams (backends consume them from Redis).
    async deliverClient(event, { room, clientEvent, envelope, history: policy }) {
      // Per topic, as on Redis: the same id on two topics is two publications.
      const key = `${room}\n${event.orgId}\n${event.id}`;
      const sender = senderOf(envelope);
      if (!recent.claim(key)) {
        const first = positions.get(key);
        if (first?.sender !== sender) return { outcome: "conflict" };
        return { outcome: "duplicate", offset: first.offset, epoch: first.epoch };
      }
      let stamped: Envelope;
      try {
        stamped = history.append(room, policy, { clientEvent, envelope });
        broadcast(room, clientEvent, stamped);
      } catch (error) {
        recent.release(key);
        throw error;
      }
      const position = { sender, offset: stamped.offset as number, epoch: stamped.epoch as string };
      positions.delete(key);
      positions.set(key, position);
      // Oldest first (insertion order); an entry outliving its claim in `recent` is never read.
      for (const oldest of positions.keys()) {
        if (positions.size <= MAX_POSITIONS) break;
        positions.delete(oldest);
      }
      broadcasted?.(room, clientEvent, stamped);
      return { outcome: "delivered", offset: position.offset, epoch: position.epoch };
    },
  };
}
