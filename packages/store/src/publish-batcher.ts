import { PUBLISH_OUTCOME, withHubCommands } from "./lua/scripts.js";
import type { RedisClient } from "./redis-client.js";

/** One broadcast to deliver on one topic, with the keys of that topic (all in the topic's slot). */
export interface BatchedDelivery {
  /** The dedupe key of (topic, org, event id). */
  dedupe: string;
  /** The topic's history stream and meta hash (`keys.history(room)`): its hash tag picks the batch. */
  stream: string;
  meta: string;
  channel: string;
  message: Buffer;
  /** The 1-based position of the offset placeholder in `message`; 0 when the topic keeps no history. */
  offsetAt: number;
  historySize: number;
  historyTtlMs: number;
}

export interface PublishBatcherOptions {
  windowMs: number;
  /** 3 characters that end a new epoch. */
  salt: string;
  sharded: "0" | "1";
  /**
   * Most deliveries per script call: bounds how long one call holds Redis (a few µs each).
   * @default 128
   */
  maxBatch?: number;
}

type Outcome = (typeof PUBLISH_OUTCOME)[keyof typeof PUBLISH_OUTCOME];

interface Pending {
  delivery: BatchedDelivery;
  /** The hash tag of its keys: consecutive deliveries of one tag share a call. */
  tag: string;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces the deliveries queued in one event-loop turn into `publishBatch-n.lua` calls: each run
 * of consecutive deliveries on topics of one hash tag (one Redis Cluster slot) is one call, at most
 * `maxBatch` each. A producer with many publishes in flight on a topic pays one script call for
 * many of them instead of one each. Calls go out in queue order, so one caller's deliveries keep
 * their call order on every topic, and on one Redis across topics too (as when each was a call of
 * its own); interleaved topics of different tags get calls of their own. Each delivery keeps its
 * own outcome (delivered or duplicate) and its own failure: the script's error for that delivery
 * alone (a key of the wrong type), or the call's (Redis unreachable) for each delivery of the call.
 *
 * @example
 * const publish = createPublishBatcher(redis, { windowMs: DEDUPE_WINDOW_MS, salt: epochSalt(), sharded: "0" });
 * const outcome = await publish({ dedupe, stream, meta, channel, message, offsetAt: 0, historySize: 0, historyTtlMs: 0 });
 */
export function createPublishBatcher(redis: RedisClient, options: PublishBatcherOptions): (delivery: BatchedDelivery) => Promise<Outcome> {
  const client = withHubCommands(redis);
  const maxBatch = options.maxBatch ?? 128;
  let queued: Pending[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const pending = queued;
    queued = [];
    // Runs of consecutive deliveries of one tag, in queue order.
    let from = 0;
    for (let i = 1; i <= pending.length; i++) {
      if (i === pending.length || i - from === maxBatch || pending[i]?.tag !== pending[from]?.tag) {
        send(pending.slice(from, i));
        from = i;
      }
    }
  };

  const send = (batch: Pending[]) => {
    const topics = new Map<string, number>();
    const keys: string[] = [];
    const topicArgs: Array<string | number> = [];
    const deliveryArgs: Array<string | number | Buffer> = [];
    for (const { delivery: d } of batch) {
      let topic = topics.get(d.meta);
      if (topic === undefined) {
        topic = topics.size + 1;
        topics.set(d.meta, topic);
        keys.push(d.stream, d.meta);
        topicArgs.push(d.channel, d.historySize, d.historyTtlMs);
      }
      deliveryArgs.push(topic, d.message, d.offsetAt);
    }
    for (const { delivery } of batch) keys.push(delivery.dedupe);
    client
      .hubPublishBatch(keys.length, ...keys, options.windowMs, options.salt, options.sharded, topics.size, ...topicArgs, ...deliveryArgs)
      .then(
        (outcomes) => {
          batch.forEach((p, i) => {
            const outcome = outcomes[i];
            if (outcome === PUBLISH_OUTCOME.delivered || outcome === PUBLISH_OUTCOME.duplicate) p.resolve(outcome);
            else if (outcome instanceof Error) p.reject(outcome);
            else p.reject(new Error(`publishBatch-n.lua answered ${String(outcome)} for delivery ${i} of ${batch.length}`));
          });
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      );
  };

  return (delivery) =>
    new Promise<Outcome>((resolve, reject) => {
      queued.push({ delivery, tag: hashTag(delivery.stream), resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

/** What Redis Cluster hashes of a key: the text between its first `{` and the next `}` when not empty, else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
