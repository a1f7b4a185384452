import { type Envelope, roomOf, type TopicRegistry } from "@hub/events";
import type { EventSink } from "@hub/store";
import type { EntityEmission } from "./machine.js";

export interface SinkDeliveryOptions {
  registry: TopicRegistry;
  sink: EventSink;
  /** Told about each delivered event that asks for a push when its recipient is offline. */
  onPush?(emission: EntityEmission & { push: NonNullable<EntityEmission["push"]> }, envelope: Envelope): void;
}

/**
 * Delivers entity events through the hub's event sink, like any event: deduplicated by id, kept in
 * the topic's history (with an offset, so a reconnecting client recovers them), broadcast to the
 * topic's room, in the order of the calls.
 *
 * @example
 * const deliver = sinkDelivery({ registry, sink: broker.eventSink(io) });
 */
export function sinkDelivery({ registry, sink, onPush }: SinkDeliveryOptions): (emission: EntityEmission) => Promise<void> {
  return async (emission) => {
    const topic = registry.parse(emission.topic);
    const room = roomOf(topic.topic, topic.namespace, emission.org_id);
    const envelope = {
      id: emission.id,
      type: emission.event,
      topic: topic.topic,
      org_id: emission.org_id,
      data: emission.data,
      ts: Date.now(),
    };
    const outgoing = {
      topic: room,
      clientEvent: emission.event,
      envelope,
      ...(topic.namespace.history ? { history: topic.namespace.history } : {}),
    };
    const delivered = await sink.deliver({ orgId: emission.org_id, id: emission.id }, [outgoing]);
    if (delivered && emission.push && onPush) onPush(emission as EntityEmission & { push: NonNullable<EntityEmission["push"]> }, envelope);
  };
}
