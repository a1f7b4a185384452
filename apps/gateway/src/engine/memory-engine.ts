import { memoryEntityStore } from "@hub/entities";
import { memoryQueueStore } from "@hub/inhouse";
import { DEDUPE_WINDOW_MS, MemoryHistory, memoryDeadLetters, memoryEventSink, RecentIds } from "@hub/store";
import type { Server } from "socket.io";
import { Adapter } from "socket.io-adapter";
import { memoryPresence } from "../presence/memory-presence.js";
import { memoryUserSessions } from "../protection/memory-user-sessions.js";
import { DEFAULT_PUBLISH_RATE, memoryPublishRate, type PublishRateSettings } from "../protection/publish-rate.js";
import { memoryConversationMembers } from "../push/memory-conversation-members.js";
import { memoryPushQueue } from "../push/memory-push-queue.js";
import type { LiveTap } from "../recovery/live-holds.js";
import { memoryCallLines } from "../rtc/memory-call-lines.js";
import { type BroadcastObserver, type Engine, engineHealth } from "./engine.js";

export interface MemoryEngineOptions {
  /** `DLQ_MAX_STREAMS_PER_SOURCE`. @default DEAD_LETTER_MAX_STREAMS_PER_SOURCE (1,000) */
  dlqMaxStreamsPerSource?: number;
  /** `CLIENT_PUBLISH_RATE` and `CLIENT_PUBLISH_BURST`. @default 20/s, burst 40 */
  publishRate?: PublishRateSettings;
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
    broker: {
      attach(io, decorate) {
        io.adapter(decorate(Adapter) as unknown as typeof Adapter);
      },
      eventSink(io) {
        // A broadcast carries any client event name: the typed server does not know them all.
        const local = io as unknown as Server;
        return memoryEventSink(
          // Emitting encodes the packet, which is what can throw (e.g. a payload nested deeper than the
          // stack); the live tap hears of a broadcast after it, so it holds only what was broadcast.
          (topic, clientEvent, envelope) => void local.to(topic).emit(clientEvent, envelope),
          recent,
          history,
          (topic, clientEvent, envelope) => {
            if (tap?.active && tap.wants(topic)) tap.push(topic, { clientEvent, envelope });
            if (observer && observer.broadcast(topic) > 0) observer.latency(Date.now() - envelope.ts);
          },
        );
      },
      tapLive(next) {
        tap = next;
      },
      observeBroadcasts(next) {
        observer = next;
      },
      // Broadcasts are handed out synchronously in this process.
      follow: async () => () => {},
      async liveBarrier() {},
      liveGeneration: () => 0,
      onLiveGap() {},
    },
    stores: {
      deadLetters: memoryDeadLetters(
        options.dlqMaxStreamsPerSource === undefined ? {} : { maxStreamsPerSource: options.dlqMaxStreamsPerSource },
      ),
      history,
      commands: queues.commands,
      userSessions: memoryUserSessions(),
      publishRate: memoryPublishRate(options.publishRate ?? DEFAULT_PUBLISH_RATE),
      ingestNodes: undefined,
      push: { queue: memoryPushQueue(), members: memoryConversationMembers() },
      presence: (io, _nodeId, names) => memoryPresence(io, names),
      localQueues: queues,
      entities: memoryEntityStore(),
      callLines: memoryCallLines(),
    },
    health: engineHealth(
      () => "disabled",
      () => ({}),
    ),
    channels: { subscribe: () => ({ pause() {}, resume() {} }) },
    async ready() {},
    async close() {},
  };
}
