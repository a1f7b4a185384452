import type { QueueCommand } from "@hub/events";
import { queueName } from "@hub/events";
import { DEDUPE_WINDOW_MS } from "./event-sink.js";
import type { HubKeys } from "./keys.js";
import { withHubCommands } from "./lua/scripts.js";
import type { RedisClient } from "./redis-client.js";

/** Where inhouse queue commands are durably accepted before a worker applies them. */
export interface CommandQueue {
  /**
   * Accepts commands in order (per queue, they are applied in this order). Resolves once they are
   * durable; a command whose id was accepted for its queue within the dedupe window is accepted
   * again without effect. Resolves with whether each was new.
   */
  enqueue(commands: readonly QueueCommand[]): Promise<boolean[]>;
  /**
   * Accepts a command a user sends for themselves (`inhouse.join` on a socket), only for a queue
   * that exists and is not closed: for any other, nothing is written and the answer is
   * `"no_queue"`. So users cannot make queues (or anything a queue keeps) by naming them.
   */
  enqueueForUser(command: QueueCommand): Promise<UserCommandOutcome>;
}

/** What became of a user's command. */
export type UserCommandOutcome = "accepted" | "duplicate" | "no_queue";

/** enqueueCommand-4.lua's return codes besides a stream id. */
const DUPLICATE = 0;
const NO_QUEUE = -1;

/**
 * Commands as Redis Streams, one per queue (lua/enqueueCommand-4.lua), deduplicated per queue and
 * command id; every key of a call is in the queue's bucket's slot (see `HubKeys.queue`).
 */
export function redisCommandQueue(redis: RedisClient, keys: HubKeys, windowMs: number = DEDUPE_WINDOW_MS): CommandQueue {
  const client = withHubCommands(redis);
  const send = (command: QueueCommand, onlyOpenQueue: "0" | "1") => {
    const name = queueName(command);
    const k = keys.queue(name);
    return client.hubEnqueueCommand(
      k.commandSeen(command.id),
      k.commands,
      k.active,
      k.state,
      windowMs,
      name,
      keys.queueWake,
      JSON.stringify(command),
      onlyOpenQueue,
    );
  };
  return {
    async enqueue(commands) {
      // One queue's commands one after the other (a Cluster client may redirect or retry a call, so
      // calls in flight together could land out of order); different queues in parallel.
      const byQueue = new Map<string, number[]>();
      commands.forEach((command, i) => {
        const name = queueName(command);
        byQueue.set(name, [...(byQueue.get(name) ?? []), i]);
      });
      const results = new Array<boolean>(commands.length);
      await Promise.all(
        [...byQueue.values()].map(async (indices) => {
          for (const i of indices) results[i] = (await send(commands[i] as QueueCommand, "0")) !== DUPLICATE;
        }),
      );
      return results;
    },
    async enqueueForUser(command) {
      const id = await send(command, "1");
      return id === NO_QUEUE ? "no_queue" : id === DUPLICATE ? "duplicate" : "accepted";
    },
  };
}
