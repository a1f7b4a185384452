import { DEDUPE_WINDOW_MS, type EventSink, memoryDeadLetters, RecentIds } from "@hub/emitter";
import { memoryQueueStore } from "@hub/inhouse";
import type { Server } from "socket.io";
import type { Engine } from "./engine.js";

/** Single node: Socket.IO's in-memory adapter; dedupe, dead letters and inhouse queues kept in process. */
export function createMemoryEngine(): Engine {
  const recent = new RecentIds(DEDUPE_WINDOW_MS);
  const queues = memoryQueueStore();
  return {
    kind: "memory",
    attach() {},
    async ready() {},
    eventSink: (io) => memoryEventSink(io, recent),
    deadLetters: memoryDeadLetters(),
    commands: queues.commands,
    embeddedQueues: queues,
    subscribeLegacy() {},
    redisState: () => "disabled",
    async close() {},
  };
}

function memoryEventSink(io: Server, recent: RecentIds): EventSink {
  return {
    async deliver(event, outgoing) {
      if (!recent.claim(`${event.orgId}:${event.id}`)) return false;
      for (const { topic, clientEvent, envelope } of outgoing) io.to(topic).emit(clientEvent, envelope);
      return true;
    },
  };
}
