import type { TopicRegistry } from "@hub/events";
import type { EventSink } from "@hub/store";
import type { PushHook } from "./push-hook.js";

/** The client event a notification is delivered as, on its user's `notifications:{user_id}` topic. */
const NOTIFICATION_EVENT = "notification.created";

/**
 * Wraps the publish pipeline's sink: each `notification.created` it delivers (not a duplicate) on a
 * user-scoped topic is offered for a push to that user. Every producer path through the gateway's
 * publisher goes through it (HTTP, the webhook, the legacy channel, replayed dead letters); the
 * emitter SDK writes to Redis itself and is not.
 *
 * @example
 * const publisherSink = notificationPushes(broker.eventSink(io), push, registry);
 */
export function notificationPushes(sink: EventSink, push: PushHook, registry: TopicRegistry): EventSink {
  if (!push.enabled) return sink;
  return {
    async deliver(event, outgoing) {
      const delivered = await sink.deliver(event, outgoing);
      if (!delivered) return delivered;
      for (const { clientEvent, envelope } of outgoing) {
        if (clientEvent !== NOTIFICATION_EVENT) continue;
        const namespace = registry.namespaceOf(envelope.topic);
        if (namespace?.scope !== "user") continue;
        // The topic's owner: `notifications:{user_id}`.
        const userId = envelope.topic.slice(namespace.name.length + 1).split(":")[0] as string;
        push.offer({ kind: "notification", userId, orgId: envelope.org_id, envelope, event: clientEvent });
      }
      return delivered;
    },
    deliverClient: (event, publication) => sink.deliverClient(event, publication),
  };
}
