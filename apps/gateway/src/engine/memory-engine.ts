import { DEDUPE_WINDOW_MS, type EventSink, memoryDeadLetters, RecentIds } from "@hub/emitter";
import type { Server } from "socket.io";
import type { Engine } from "./engine.js";

/** Single node: Socket.IO's in-memory adapter, dedupe and dead letters kept in process. */
export function createMemoryEngine(): Engine {
  const recent = new RecentIds(DEDUPE_WINDOW_MS);
  return {
    kind: "memory",
    attach() {},
    async ready() {},
    eventSink: (io) => memoryEventSink(io, recent),
    deadLetters: memoryDeadLetters(),
    subscribeLegacy() {},
    redisState: () => "disabled",
    async close() {},
  };
}

function memoryEventSink(io: Server, recent: RecentIds): EventSink {
  return {
    async deliver(eventId, outgoing) {
      if (!recent.claim(eventId)) return false;
      for (const { topic, clientEvent, envelope } of outgoing) io.to(topic).emit(clientEvent, envelope);
      return true;
    },
  };
}
