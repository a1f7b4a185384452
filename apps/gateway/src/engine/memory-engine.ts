import { DEDUPE_WINDOW_MS, type EventSink, MemoryHistory, memoryDeadLetters, RecentIds } from "@hub/emitter";
import { memoryQueueStore } from "@hub/inhouse";
import type { Server } from "socket.io";
import { memoryPresence } from "../presence/memory-presence.js";
import { memoryUserSessions } from "../protection/memory-user-sessions.js";
import type { LiveTap } from "../recovery/live-holds.js";
import type { BroadcastObserver, Engine } from "./engine.js";

export interface MemoryEngineOptions {
  /** `DLQ_MAX_STREAMS_PER_SOURCE`. @default DEAD_LETTER_MAX_STREAMS_PER_SOURCE (1,000) */
  dlqMaxStreamsPerSource?: number;
}

/** Single node: Socket.IO's in-memory adapter; dedupe, history, dead letters and inhouse queues kept in process. */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  const recent = new RecentIds(DEDUPE_WINDOW_MS);
  const queues = memoryQueueStore();
  const history = new MemoryHistory();
  let tap: LiveTap | undefined;
  let observer: BroadcastObserver | undefined;
  return {
    kind: "memory",
    attach() {},
    async ready() {},
    eventSink: (io) => memoryEventSink(io, recent, history, { tap: () => tap, observer: () => observer }),
    deadLetters: memoryDeadLetters(
      options.dlqMaxStreamsPerSource === undefined ? {} : { maxStreamsPerSource: options.dlqMaxStreamsPerSource },
    ),
    history,
    tapLive(next) {
      tap = next;
    },
    observeBroadcasts(next) {
      observer = next;
    },
    // Broadcasts are handed out synchronously in this process.
    async liveBarrier() {},
    liveGeneration: () => 0,
    onLiveGap() {},
    createPresence: (io) => memoryPresence(io),
    userSessions: memoryUserSessions(),
    commands: queues.commands,
    embeddedQueues: queues,
    subscribeLegacy() {},
    redisState: () => "disabled",
    redisConnections: () => ({}),
    async close() {},
  };
}

interface Listeners {
  tap(): LiveTap | undefined;
  observer(): BroadcastObserver | undefined;
}

function memoryEventSink(io: Server, recent: RecentIds, history: MemoryHistory, listeners: Listeners): EventSink {
  return {
    async deliver(event, outgoing) {
      const key = `${event.orgId}:${event.id}`;
      if (!recent.claim(key)) return false;
      let emitted = 0;
      try {
        for (const delivery of outgoing) {
          const { topic, clientEvent } = delivery;
          const envelope = delivery.history ? history.append(topic, delivery.history, delivery) : delivery.envelope;
          // Emitting encodes the packet, which is what can throw (e.g. a payload nested deeper than the
          // stack); so it comes before the live tap, which must hold only what was broadcast.
          io.to(topic).emit(clientEvent, envelope);
          emitted++;
          const live = listeners.tap();
          if (live?.active && live.wants(topic)) live.push(topic, { clientEvent, envelope });
          const observer = listeners.observer();
          if (observer && observer.broadcast(topic) > 0) observer.latency(Date.now() - envelope.ts);
        }
      } catch (error) {
        // Not delivered anywhere: the id is not spent, so a corrected retry with it is not taken for
        // a duplicate. Once a topic has it, a retry would deliver it there twice: the id stays spent.
        if (emitted === 0) recent.release(key);
        throw error;
      }
      return true;
    },
  };
}
