import {
  type CommandName,
  type NamespaceSpec,
  type ProducerEvent,
  parseQueueCommand,
  type QueueCommandInput,
  TopicRegistry,
  uuidv7,
} from "@hub/events";
import type { PubSubWire, RedisClient } from "@hub/store";
import { createPublisher, hubKeys, type PublishResult, redisCommandQueue, redisDeadLetters, redisEventSink } from "@hub/store";
import { type ClientEventConsumer, type ConsumeClientEventsOptions, consumeClientEvents } from "./client-event-consumer.js";

export interface HubEmitterOptions {
  /** The Redis the gateways use: an ioredis `Redis`, or a `Cluster` for Redis Cluster; the caller owns and closes it. */
  redis: RedisClient;
  /**
   * How the gateways share broadcasts (`HUB_PUBSUB`): `sharded` publishes with SPUBLISH on each
   * topic's channel, in the sharded adapter's format; `classic` with PUBLISH.
   * @default "sharded" on a Redis Cluster client, "classic" otherwise (the gateways' default)
   */
  pubsub?: PubSubWire;
  /**
   * Key prefix shared with the gateways (`HUB_KEY_PREFIX`).
   * @default "hub"
   */
  prefix?: string;
  /**
   * Namespaces declared beyond the built-in ones, exactly as the gateways' `HUB_NAMESPACES`: they
   * decide which topics keep history, and so which events get offsets, and which namespaces have
   * client-event streams (`consumeClientEvents`).
   * @default none
   */
  namespaces?: readonly NamespaceSpec[];
}

/** Publishes domain events to the hub from any backend process; no Socket.IO server needed. */
export interface HubEmitter {
  /**
   * Validates, routes and broadcasts one event to every subscribed client on every gateway.
   * Resolves with `duplicate: true` (and delivers nothing) when the id was published within the
   * last 5 minutes. Rejects with `PublishError` (`invalid_event`, `unknown_type`, `no_route`) and
   * records the event in the dead-letter queue when it is bad. Events published by one emitter
   * reach each client in call order.
   */
  publish(event: ProducerEvent): Promise<PublishResult>;
  /** Publishes several events; validates all first and publishes none if any is bad. */
  publishMany(events: readonly ProducerEvent[]): Promise<PublishResult[]>;
  /** Commands for inhouse queues, applied by the queue-worker in order per queue. */
  readonly inhouse: InhouseCommands;
  /**
   * Consumes the durable client publications (`message:send`, ...) of the client-event streams,
   * at least once per consumer group: each of the namespace's 16 bucket streams is read through a
   * Redis Stream consumer group; an event is acknowledged once `handler` resolved, and one left
   * pending (a crashed consumer, a handler that threw) is claimed by a consumer of the group after
   * `claimAfterMs`. Runs until `close()` or `signal`. Throws `TypeError` on bad options (a namespace
   * without durable client events).
   *
   * @example
   * const consumer = hub.consumeClientEvents({
   *   group: "chat-store",
   *   handler: async (event) => {
   *     if (event.event === "message:new") await saveMessage(event.topic, event.id, event.sender_id, event.data);
   *   },
   *   onError: (error) => console.error(error.code, error.message),
   * });
   * // on shutdown
   * await consumer.close();
   */
  consumeClientEvents(options: ConsumeClientEventsOptions): ClientEventConsumer;
}

type QueueTarget = Pick<QueueCommandInput, "org_id" | "queue_id" | "id">;
/** join, leave and check_in act for one player: `user_id` is required (the hub refuses them without it). */
type PlayerTarget = QueueTarget & Required<Pick<QueueCommandInput, "user_id">>;

/**
 * Typed inhouse queue commands. Each resolves with the command id once the command is durably
 * accepted; its effect arrives as `queue_updated` on `inhouse:{org_id}`. Invalid input rejects with
 * `CommandError`. A command id seen in the last 5 minutes is accepted again without effect.
 */
export interface InhouseCommands {
  /** Sends raw commands (validated), in order. */
  send(commands: QueueCommandInput | readonly QueueCommandInput[]): Promise<string[]>;
  open(target: QueueTarget & { capacity?: number }): Promise<string>;
  join(target: PlayerTarget): Promise<string>;
  leave(target: PlayerTarget): Promise<string>;
  checkIn(target: PlayerTarget): Promise<string>;
  startSession(target: QueueTarget): Promise<string>;
  close(target: QueueTarget): Promise<string>;
}

/**
 * Creates the producer SDK.
 *
 * @example
 * import { Redis } from "ioredis";
 * const hub = createHubEmitter({ redis: new Redis(process.env.REDIS_URL) });
 * // on Redis Cluster: createHubEmitter({ redis: new Cluster([{ host: "redis-1", port: 6379 }]) })
 * await hub.publish({ type: "roster.player_hired", org_id: 42, payload: { player_id: 7 } });
 */
export function createHubEmitter(options: HubEmitterOptions): HubEmitter {
  const keys = hubKeys(options.prefix);
  const topics = new TopicRegistry(options.namespaces);
  const publisher = createPublisher({
    sink: redisEventSink(options.redis, keys, { pubsub: options.pubsub ?? (options.redis.isCluster ? "sharded" : "classic") }),
    deadLetters: redisDeadLetters(options.redis, keys),
    topics,
  });
  const context = { source: "emitter" } as const;
  const queue = redisCommandQueue(options.redis, keys);
  const send = async (input: QueueCommandInput | readonly QueueCommandInput[]) => {
    const commands = (Array.isArray(input) ? input : [input]).map((raw) => parseQueueCommand(raw, uuidv7));
    await queue.enqueue(commands);
    return commands.map((c) => c.id);
  };
  const one = (command: CommandName) => async (target: QueueTarget & { user_id?: string | number; capacity?: number }) =>
    (await send({ ...target, command }))[0] as string;
  return {
    publish: (event) => publisher.publish(event, context),
    publishMany: (events) => publisher.publishMany(events, context),
    inhouse: {
      send,
      open: one("open"),
      join: one("join"),
      leave: one("leave"),
      checkIn: one("check_in"),
      startSession: one("start_session"),
      close: one("close"),
    },
    consumeClientEvents: (consumerOptions) => consumeClientEvents(options.redis, keys, topics, consumerOptions),
  };
}
