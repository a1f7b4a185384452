import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { CLIENT_EVENT_BUCKETS, type TopicRegistry } from "@hub/events";
import type { HubKeys, RedisClient } from "@hub/store";
import type { Redis } from "ioredis";
import { type ClientEvent, parseClientEventEntry } from "./client-event.js";

/** What went wrong, as `onError` is told: a handler threw, a stream entry was unreadable, Redis failed. */
export type ClientEventConsumerErrorCode = "handler_failed" | "malformed_entry" | "poison_entry" | "redis_error";

/** The one error type a client-event consumer reports through `onError`; `cause` holds what was thrown. */
export class ClientEventConsumerError extends Error {
  readonly code: ClientEventConsumerErrorCode;
  /** The bucket stream's key, when the error concerns one entry. */
  readonly stream: string | undefined;
  /** The stream entry id, when the error concerns one entry. */
  readonly streamId: string | undefined;

  constructor(code: ClientEventConsumerErrorCode, message: string, details: { cause?: unknown; stream?: string; streamId?: string } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ClientEventConsumerError";
    this.code = code;
    this.stream = details.stream;
    this.streamId = details.streamId;
  }
}

export interface ConsumeClientEventsOptions {
  /**
   * The consumer group (a Redis Stream consumer group on every bucket stream): each group gets
   * every event at least once; the consumers of one group share them. A new group starts at the
   * oldest entry still in the streams.
   */
  group: string;
  /**
   * Which namespaces' streams to consume, by name; each must have durable client events.
   * @default every namespace with durable client events (`chat` and the declared ones)
   */
  namespaces?: readonly string[];
  /**
   * Called once per event, awaited, one call at a time per bucket (buckets run concurrently), in
   * stream order for what this consumer reads. Events it claims (a dead consumer's, or its own that
   * failed) come after what it had already read from that bucket: a handler that needs one topic's
   * order uses the events' `offset`s. The event is acknowledged when it resolves; when it throws,
   * it stays pending and is handed to a consumer of the group again after `claimAfterMs`.
   */
  handler: (event: ClientEvent) => Promise<void> | void;
  /** Stops consuming when aborted, like `close()`. @default none */
  signal?: AbortSignal;
  /**
   * This consumer's name within the group. Pending events of a consumer that stopped are claimed
   * by any consumer of the group after `claimAfterMs`, whatever their names.
   * @default `${hostname()}-${process.pid}-${8 random hex digits}`
   */
  consumer?: string;
  /**
   * How long an event may stay unacknowledged (its consumer crashed, or its handler threw) before
   * another consumer of the group claims it; claims are attempted every `claimAfterMs / 2`. A live
   * consumer renews its hold on the events it has read and not yet handled every `claimAfterMs / 3`,
   * so only a dead (or stalled for `claimAfterMs`) consumer's events go to another, however long a
   * batch or a handler call takes.
   * @default 30000
   */
  claimAfterMs?: number;
  /** Entries read per bucket stream per read, and claimed per claim step. @default 100 */
  batchSize?: number;
  /**
   * How many times an event may be handed out (read, then claimed after failures or crashes) before
   * it is given up: acknowledged without a handler call and reported to `onError` as `poison_entry`
   * with the event, so one event whose handler always throws (or crashes its process) cannot loop
   * through the group forever. Keep it for your own dead-letter store. @default 10
   */
  maxDeliveries?: number;
  /**
   * Told about a handler that threw (with its event), a malformed entry (acknowledged and skipped;
   * never given to the handler) and Redis errors (retried with backoff). @default none
   */
  onError?: (error: ClientEventConsumerError, event?: ClientEvent) => void;
}

/** Counters of a running consumer. */
export interface ClientEventConsumerStats {
  /** Events handled and acknowledged. */
  handled: number;
  /** Handler calls that threw (the event stays pending). */
  failed: number;
  /** Malformed entries acknowledged without a handler call. */
  malformed: number;
  /** Pending entries this consumer claimed from the group (a crashed consumer's, or its own failed ones). */
  claimed: number;
  /** Events given up after `maxDeliveries` (acknowledged, reported as `poison_entry`). */
  poisoned: number;
}

/** A running consumer: `close()` (or the `signal`) stops it; `closed` settles when it has stopped. */
export interface ClientEventConsumer {
  /** This consumer's name within its group. */
  readonly consumer: string;
  /** Resolves once stopped: the handler call in progress finished and every timer and connection is released. Never rejects. */
  readonly closed: Promise<void>;
  readonly stats: Readonly<ClientEventConsumerStats>;
  /** Stops reading and claiming, lets the handler call in progress finish; resolves like `closed`. */
  close(): Promise<void>;
}

interface BucketStream {
  key: string;
  namespace: string;
}

type StreamEntry = [id: string, fields: string[] | null];

const DEFAULT_CLAIM_AFTER_MS = 30_000;
const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_MAX_DELIVERIES = 10;
/** A blocking read returns after this long without entries; `close()` interrupts it sooner. */
const BLOCK_MS = 5_000;
/** On Redis Cluster (polling): the pause after a round that found nothing, doubling while idle up to the max. */
const IDLE_POLL_MS = 50;
const MAX_IDLE_POLL_MS = 1_000;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/**
 * Consumes the client-event streams of `registry`'s streamed namespaces for `options.group`
 * (see `HubEmitter.consumeClientEvents`).
 */
export function consumeClientEvents(
  redis: RedisClient,
  keys: HubKeys,
  registry: TopicRegistry,
  options: ConsumeClientEventsOptions,
): ClientEventConsumer {
  const { group, handler } = options;
  if (typeof group !== "string" || group === "") throw new TypeError("consumeClientEvents: group must be a non-empty string");
  const claimAfterMs = options.claimAfterMs ?? DEFAULT_CLAIM_AFTER_MS;
  if (!Number.isSafeInteger(claimAfterMs) || claimAfterMs < 2)
    throw new TypeError("consumeClientEvents: claimAfterMs must be an integer >= 2");
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new TypeError("consumeClientEvents: batchSize must be a positive integer");
  const streams = bucketStreams(keys, registry, options.namespaces);
  const consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const byKey = new Map(streams.map((stream) => [stream.key, stream]));
  const maxDeliveries = options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
  if (!Number.isSafeInteger(maxDeliveries) || maxDeliveries < 1) {
    throw new TypeError("consumeClientEvents: maxDeliveries must be a positive integer");
  }
  const stats: ClientEventConsumerStats = { handled: 0, failed: 0, malformed: 0, claimed: 0, poisoned: 0 };
  // Entries read or claimed and not yet handled: a claim step (their idle time passed) leaves them alone.
  const inFlight = new Set<string>();

  const stop = new AbortController();
  const abort = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  else options.signal?.addEventListener("abort", abort, { once: true });
  // A single Redis serves one blocking read of every stream on its own connection; a Cluster has
  // the streams on different slots, so they are polled.
  const blocking = redis.isCluster ? undefined : (redis as Redis).duplicate();
  // Its failures surface as rejected reads (reported and retried); ioredis would print each event too.
  blocking?.on("error", () => {});
  stop.signal.addEventListener("abort", () => blocking?.disconnect(), { once: true });

  const report = (error: ClientEventConsumerError, event?: ClientEvent) => {
    try {
      options.onError?.(error, event);
    } catch {
      // A throwing onError must not stop the consumer.
    }
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        stop.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stop.signal.addEventListener("abort", done, { once: true });
    });

  const flight = (stream: BucketStream, streamId: string) => `${stream.key}\n${streamId}`;
  const handleOne = async (stream: BucketStream, streamId: string, fields: string[] | null) => {
    // Redis 6.2's XAUTOCLAIM returns an entry trimmed away as its id without fields.
    if (fields === null) {
      await redis.xack(stream.key, group, streamId);
      return;
    }
    const event = parseClientEventEntry(stream.namespace, streamId, fields);
    if (typeof event === "string") {
      stats.malformed++;
      report(new ClientEventConsumerError("malformed_entry", `${stream.key} ${streamId}: ${event}`, { stream: stream.key, streamId }));
      await redis.xack(stream.key, group, streamId);
      return;
    }
    try {
      await handler(event);
    } catch (error) {
      stats.failed++;
      const message = `handler failed on ${event.id} (${stream.key} ${streamId}); retried after claimAfterMs`;
      report(new ClientEventConsumerError("handler_failed", message, { cause: error, stream: stream.key, streamId }), event);
      return;
    }
    await redis.xack(stream.key, group, streamId);
    stats.handled++;
  };
  // One lane per bucket: the read and the claim paths never run the handler on one bucket at once.
  const lanes = new Map<string, Promise<void>>();
  /** Queues entries on their bucket's lane; resolves once they are handled (or left pending). */
  const handle = (stream: BucketStream, entries: readonly StreamEntry[], claimed: boolean): Promise<void> => {
    // Entries already read or claimed and not yet handled are this process's: not queued twice.
    const mine = entries.filter(([streamId]) => !inFlight.has(flight(stream, streamId)));
    for (const [streamId] of mine) inFlight.add(flight(stream, streamId));
    if (claimed) stats.claimed += mine.length;
    const run = async () => {
      try {
        for (const [streamId, fields] of mine) {
          if (stop.signal.aborted) return;
          await handleOne(stream, streamId, fields);
          inFlight.delete(flight(stream, streamId));
        }
      } finally {
        // What was not handled (stopped, Redis failed) stays pending for a claim.
        for (const [streamId] of mine) inFlight.delete(flight(stream, streamId));
      }
    };
    const done = (lanes.get(stream.key) ?? Promise.resolve()).then(run);
    const settled = done.catch(() => undefined);
    lanes.set(stream.key, settled);
    void settled.then(() => {
      if (lanes.get(stream.key) === settled) lanes.delete(stream.key);
    });
    return done;
  };

  /**
   * Keeps what this consumer read and has not handled yet claimed by it (XCLAIM with JUSTID resets
   * an entry's idle time without counting a delivery): another consumer claims only what a dead or
   * stuck consumer left, not the tail of a long batch.
   */
  const keepAlive = async () => {
    const byStream = new Map<string, string[]>();
    for (const key of inFlight) {
      const cut = key.lastIndexOf("\n");
      const ids = byStream.get(key.slice(0, cut)) ?? [];
      ids.push(key.slice(cut + 1));
      byStream.set(key.slice(0, cut), ids);
    }
    await Promise.all([...byStream].map(([key, ids]) => redis.call("XCLAIM", key, group, consumer, 0, ...ids, "JUSTID")));
  };

  const createGroups = () =>
    Promise.all(
      streams.map((stream) =>
        redis.xgroup("CREATE", stream.key, group, "0", "MKSTREAM").catch((error: unknown) => {
          if (!String((error as Error)?.message).startsWith("BUSYGROUP")) throw error;
        }),
      ),
    );

  const read = async (): Promise<Array<[BucketStream, StreamEntry[]]>> => {
    if (blocking) {
      const ids = streams.map(() => ">");
      const reply = (await blocking.call(
        "XREADGROUP",
        ...["GROUP", group, consumer, "COUNT", batchSize, "BLOCK", BLOCK_MS, "STREAMS"],
        ...streams.map((s) => s.key),
        ...ids,
      )) as Array<[string, StreamEntry[]]> | null;
      return (reply ?? []).flatMap(([key, entries]) => {
        const stream = byKey.get(key);
        return stream ? [[stream, entries] as [BucketStream, StreamEntry[]]] : [];
      });
    }
    // Each bucket on its own: one that fails (a slot moving in a failover) does not discard what the others handed out.
    const results = await Promise.allSettled(
      streams.map(async (stream) => {
        const reply = (await redis.call("XREADGROUP", "GROUP", group, consumer, "COUNT", batchSize, "STREAMS", stream.key, ">")) as Array<
          [string, StreamEntry[]]
        > | null;
        return [stream, reply?.[0]?.[1] ?? []] as [BucketStream, StreamEntry[]];
      }),
    );
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    const batches = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    if (failed && batches.every(([, entries]) => entries.length === 0)) throw failed.reason;
    if (failed) report(new ClientEventConsumerError("redis_error", `reading client events: ${(failed.reason as Error)?.message}`));
    return batches;
  };

  const readLoop = async () => {
    let groupsReady = false;
    let backoff = MIN_BACKOFF_MS;
    let idle = IDLE_POLL_MS;
    while (!stop.signal.aborted) {
      try {
        if (!groupsReady) {
          await createGroups();
          groupsReady = true;
        }
        const batches = await read();
        await Promise.all(batches.map(([stream, entries]) => handle(stream, entries, false)));
        backoff = MIN_BACKOFF_MS;
        if (blocking) continue;
        if (batches.some(([, entries]) => entries.length > 0)) idle = IDLE_POLL_MS;
        else {
          await sleep(idle);
          idle = Math.min(idle * 2, MAX_IDLE_POLL_MS);
        }
      } catch (error) {
        if (stop.signal.aborted) break;
        // The streams or the group may be gone (a flush, a failover): make them again.
        groupsReady = false;
        report(new ClientEventConsumerError("redis_error", `reading client events: ${(error as Error)?.message}`, { cause: error }));
        await sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  };

  /** Gives up the stream's pending events handed out `maxDeliveries` times already (and idle: nobody is on them). */
  const givePoisonUp = async (stream: BucketStream) => {
    const pending = (await redis.call("XPENDING", stream.key, group, "IDLE", claimAfterMs, "-", "+", batchSize)) as Array<
      [id: string, owner: string, idleMs: number, deliveries: number]
    >;
    const poison = pending.filter(([streamId, , , deliveries]) => deliveries >= maxDeliveries && !inFlight.has(flight(stream, streamId)));
    if (poison.length === 0) return;
    // Claimed first (only while still idle), so a consumer that just took one keeps it.
    const entries = (await redis.call(
      "XCLAIM",
      stream.key,
      group,
      consumer,
      claimAfterMs,
      ...poison.map(([streamId]) => streamId),
    )) as StreamEntry[];
    for (const [streamId, fields] of entries) {
      const event = fields === null ? undefined : parseClientEventEntry(stream.namespace, streamId, fields);
      await redis.xack(stream.key, group, streamId);
      stats.poisoned++;
      const message = `${stream.key} ${streamId} given up after ${maxDeliveries} deliveries (maxDeliveries)`;
      report(
        new ClientEventConsumerError("poison_entry", message, { stream: stream.key, streamId }),
        typeof event === "object" ? event : undefined,
      );
    }
  };

  const claimStream = async (stream: BucketStream) => {
    await givePoisonUp(stream);
    let cursor = "0-0";
    do {
      const [next, entries] = (await redis.xautoclaim(stream.key, group, consumer, claimAfterMs, cursor, "COUNT", batchSize)) as [
        string,
        StreamEntry[],
        string[]?,
      ];
      // Entries trimmed away are listed apart (Redis 7) and already off the pending list: skipped.
      await handle(stream, entries, true);
      cursor = next;
    } while (cursor !== "0-0" && !stop.signal.aborted);
  };

  const claimLoop = async () => {
    for (;;) {
      await sleep(claimAfterMs / 2);
      if (stop.signal.aborted) return;
      const results = await Promise.allSettled(streams.map(claimStream));
      const failure = results.find((result) => result.status === "rejected");
      if (failure && !stop.signal.aborted) {
        const reason = (failure as PromiseRejectedResult).reason as Error;
        report(new ClientEventConsumerError("redis_error", `claiming pending client events: ${reason?.message}`, { cause: reason }));
      }
    }
  };

  const keepAliveLoop = async () => {
    for (;;) {
      await sleep(Math.max(1, Math.floor(claimAfterMs / 3)));
      if (stop.signal.aborted) return;
      await keepAlive().catch((error: unknown) =>
        report(
          new ClientEventConsumerError("redis_error", `keeping read client events claimed: ${(error as Error)?.message}`, { cause: error }),
        ),
      );
    }
  };

  /** A consumer that stopped with nothing pending leaves its group (names do not pile up across restarts). */
  const leaveGroups = () =>
    Promise.allSettled(
      streams.map(async (stream) => {
        const pending = (await redis.call("XPENDING", stream.key, group, "-", "+", 1, consumer)) as unknown[];
        if (pending.length === 0) await redis.call("XGROUP", "DELCONSUMER", stream.key, group, consumer);
      }),
    );

  const closed = Promise.all([readLoop(), claimLoop(), keepAliveLoop()])
    .then(() => Promise.all([...lanes.values()]))
    .then(() => leaveGroups())
    .then(() => {
      blocking?.disconnect();
      options.signal?.removeEventListener("abort", abort);
    });
  return {
    consumer,
    closed,
    stats,
    close() {
      stop.abort();
      return closed;
    },
  };
}

/** The bucket streams of the chosen namespaces; throws on a name that is not a streamed namespace. */
function bucketStreams(keys: HubKeys, registry: TopicRegistry, names: readonly string[] | undefined): BucketStream[] {
  const namespaces =
    names === undefined
      ? registry.namespaces().filter((namespace) => namespace.streamed)
      : names.map((name) => {
          const namespace = registry.namespace(name);
          if (!namespace?.streamed) throw new TypeError(`consumeClientEvents: namespace "${name}" has no durable client events`);
          return namespace;
        });
  if (namespaces.length === 0) throw new TypeError("consumeClientEvents: no namespace with durable client events to consume");
  return namespaces.flatMap((namespace) =>
    Array.from({ length: CLIENT_EVENT_BUCKETS }, (_, bucket) => ({
      key: keys.clientEvents(namespace.name, bucket),
      namespace: namespace.name,
    })),
  );
}
