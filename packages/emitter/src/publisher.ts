import { type Delivery, type ProducerEvent, PublishError, parseProducerEvent, Router, toEnvelope, uuidv7 } from "@hub/events";
import type { Broadcaster } from "./broadcaster.js";

/** What a successful publish reports. */
export interface PublishResult {
  /** The event's id: the producer's, or the one the hub assigned. */
  id: string;
  /** Every topic the event was delivered on. */
  topics: string[];
}

export interface PublisherOptions {
  broadcaster: Broadcaster;
  /** @default the contract's routing table */
  router?: Router;
  /** @default Date.now */
  now?: () => number;
}

/** The publish pipeline every producer path goes through: validate, route, broadcast. */
export interface Publisher {
  /** Throws `PublishError` when the event is invalid or has no route; nothing is delivered then. */
  publish(event: ProducerEvent | unknown): Promise<PublishResult>;
  /**
   * Validates every event first and delivers none if any is bad: the `PublishError`'s issues are
   * prefixed with the event's index (`events.3.org_id: ...`).
   */
  publishMany(events: readonly unknown[]): Promise<PublishResult[]>;
}

interface PreparedEvent {
  event: ReturnType<typeof parseProducerEvent> & { id: string };
  deliveries: Delivery[];
}

export function createPublisher(options: PublisherOptions): Publisher {
  const router = options.router ?? new Router();
  const now = options.now ?? Date.now;
  const { broadcaster } = options;

  function prepare(raw: unknown): PreparedEvent {
    const parsed = parseProducerEvent(raw);
    const deliveries = router.route(parsed);
    return { event: { ...parsed, id: parsed.id ?? uuidv7() }, deliveries };
  }

  function deliver({ event, deliveries }: PreparedEvent): PublishResult {
    const ts = now();
    for (const delivery of deliveries) {
      broadcaster.broadcast(delivery.topic, delivery.clientEvent, toEnvelope(event, delivery, ts));
    }
    return { id: event.id, topics: deliveries.map((d) => d.topic) };
  }

  return {
    async publish(raw) {
      return deliver(prepare(raw));
    },
    async publishMany(raws) {
      const prepared: PreparedEvent[] = [];
      const issues: string[] = [];
      raws.forEach((raw, index) => {
        try {
          prepared.push(prepare(raw));
        } catch (error) {
          if (!(error instanceof PublishError)) throw error;
          const details = error.issues.length > 0 ? error.issues : [error.message];
          for (const issue of details) issues.push(`events.${index}.${issue}`);
        }
      });
      if (issues.length > 0) throw new PublishError("invalid_event", "some events of the batch are invalid; none was published", issues);
      return prepared.map(deliver);
    },
  };
}
