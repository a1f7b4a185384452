import type { TopicRegistry } from "@hub/events";
import type { BroadcastObserver } from "../engine/engine.js";
import { isLocalRoom } from "../protocol/client-publish.js";
import type { HubServer } from "../protocol/hub-socket.js";
import type { GatewayMetrics } from "./metrics.js";

/** The per-namespace metrics of topics, fed by the adapter, the engine and catch-ups. */
export interface TopicMetrics {
  /** Hand to Engine.observeBroadcasts. */
  readonly observer: BroadcastObserver;
  /** Hand to the catch-up context (CatchUpContext.onReplayed). */
  replayed(topic: string, entries: number, recovered: boolean | undefined): void;
}

interface PerNamespace {
  subscriptions: ReturnType<GatewayMetrics["subscriptions"]["labels"]>;
  fanout: { broadcasts: number; deliveries: number };
}

/**
 * Keeps `hub_subscriptions` from the adapter's `join-room` / `leave-room` events (a disconnect leaves
 * every room, so it is counted too) and counts each broadcast once, adding its room's local size as
 * deliveries: nothing runs per socket or per delivery. Topics are labelled by namespace; a topic of
 * a namespace this node does not declare counts as `other`, so labels stay bounded.
 */
export function trackTopicMetrics(io: HubServer, topics: TopicRegistry, metrics: GatewayMetrics): TopicMetrics {
  const byNamespace = new Map<string, PerNamespace>();
  const namespaceOf = (topic: string): string => topics.namespaceOf(topic)?.name ?? "other";
  const of = (topic: string): PerNamespace => {
    const namespace = namespaceOf(topic);
    let found = byNamespace.get(namespace);
    if (!found) {
      const fanout = { broadcasts: 0, deliveries: 0 };
      metrics.fanout.set(namespace, fanout);
      found = { subscriptions: metrics.subscriptions.labels(namespace), fanout };
      byNamespace.set(namespace, found);
    }
    return found;
  };
  for (const { name } of topics.namespaces()) metrics.subscriptions.set({ namespace: name }, 0);

  // Each socket is also in a room named after its id, and maybe its user's node-local one
  // (`~user...`): those are no subscriptions.
  const adapter = io.of("/").adapter;
  adapter.on("join-room", (room: string, id: string) => {
    if (room !== id && !isLocalRoom(room)) of(room).subscriptions.inc();
  });
  adapter.on("leave-room", (room: string, id: string) => {
    if (room !== id && !isLocalRoom(room)) of(room).subscriptions.dec();
  });

  return {
    observer: {
      broadcast(topic) {
        metrics.received.messages++;
        const size = adapter.rooms.get(topic)?.size ?? 0;
        if (size === 0) return 0;
        const { fanout } = of(topic);
        fanout.broadcasts++;
        fanout.deliveries += size;
        return size;
      },
      // A producer's clock ahead of this node's would make it negative.
      latency: (ms) => metrics.publishToEmit.observe(Math.max(0, ms) / 1000),
    },
    replayed(topic, entries, recovered) {
      const namespace = namespaceOf(topic);
      if (entries > 0) metrics.replayed.inc({ namespace }, entries);
      if (recovered !== undefined) metrics.recoveries.inc({ namespace, recovered: String(recovered) });
    },
  };
}
