import { EventEmitter } from "node:events";
import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";

/** One subscriber connection: the only one on a single Redis, one per master on a Redis Cluster. */
interface Shard {
  /** The master's `host:port`, or `""` on a single Redis. */
  readonly node: string;
  readonly client: Redis;
  /** The channels subscribed on this connection. */
  readonly channels: Set<string>;
  /** Moves whenever this connection's stream may have lost messages (see `ShardSubscriber.generation`). */
  generation: number;
  served: boolean;
  interrupted: boolean;
}

export interface ShardSubscriberOptions {
  /** The cluster whose slot map says which master serves a channel; undefined on a single Redis. */
  cluster: Cluster | undefined;
  /** Opens a subscriber connection: to one master (`host:port`), or to the single Redis (`""`). */
  connect(node: string): Redis;
  logger: Logger;
}

/**
 * Told which channels may have lost messages, as soon as that is known (a connection dropped, a slot
 * moved): before anything arrives on a new subscription.
 */
export type GapListener = (channels: readonly string[]) => void;

/**
 * Sharded pub/sub subscriptions (SSUBSCRIBE) for `@socket.io/redis-adapter`'s sharded adapter and
 * for recovery, on one connection per master of a Redis Cluster (or one connection to a single
 * Redis). It is what the adapter takes as its subscriber client (`ssubscribe`, `sunsubscribe`,
 * `smessageBuffer`), and adds, per channel:
 * - reference counts: the adapter's room subscription and a catch-up's `follow` share one
 *   SSUBSCRIBE, which ends with the last of them;
 * - a barrier: a PING on the connection that carries the channel, answered after every message
 *   the master sent it before;
 * - gap detection: a connection that dropped, or a slot that moved to another master (a failover),
 *   moves the generation of its channels and tells the gap listeners at once; `follow` refuses a
 *   channel until its subscription is back.
 */
export class ShardSubscriber extends EventEmitter {
  readonly #options: ShardSubscriberOptions;
  readonly #shards = new Map<string, Shard>();
  readonly #refs = new Map<string, number>();
  /** The shard each subscribed channel is on (undefined until the cluster's slot map is known), and its SSUBSCRIBE. */
  readonly #home = new Map<string, { shard: Shard | undefined; subscribed: Promise<void> }>();
  readonly #gapListeners: GapListener[] = [];
  /** Generations come from one clock, so a channel that moved to another shard never sees an old value. */
  #clock = 0;
  #closed = false;
  readonly #slotsKnown: Promise<void>;

  constructor(options: ShardSubscriberOptions) {
    super();
    this.#options = options;
    const { cluster } = options;
    this.#slotsKnown =
      cluster === undefined || cluster.status === "ready" ? Promise.resolve() : new Promise((resolve) => cluster.once("ready", resolve));
    cluster?.on("refresh", () => this.#rehome());
  }

  /** The adapter's SSUBSCRIBE. */
  ssubscribe(channel: string): Promise<void> {
    return this.#ref(channel);
  }

  /** The adapter's SUNSUBSCRIBE. */
  async sunsubscribe(channels: string | string[]): Promise<void> {
    for (const channel of Array.isArray(channels) ? channels : [channels]) this.#unref(channel);
  }

  /**
   * Subscribes to `channel` until the returned function is called; resolves once the subscription
   * is in effect, so every message published after that reaches the `smessageBuffer` listeners.
   * Rejects while the connection that carries the channel is down.
   */
  async follow(channel: string): Promise<() => void> {
    await this.#ref(channel);
    const shard = this.#home.get(channel)?.shard;
    if (!shard || shard.interrupted || shard.client.status !== "ready") {
      // A subscription on a connection that is down (its master failed, the slot map not yet
      // refreshed) receives nothing: a catch-up must not rely on it.
      this.#unref(channel);
      throw new Error(`the connection that carries ${channel} is down`);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#unref(channel);
    };
  }

  /** Resolves once every message published on `channel` before the call reached the listeners. */
  async barrier(channel: string): Promise<void> {
    const home = this.#home.get(channel);
    if (!home) throw new Error(`not subscribed to ${channel}`);
    await home.subscribed;
    await home.shard?.client.ping();
  }

  /** A catch-up on `channel` that saw this change may have missed messages. */
  generation(channel: string): number {
    return this.#home.get(channel)?.shard?.generation ?? -1;
  }

  onGap(listener: GapListener): void {
    this.#gapListeners.push(listener);
  }

  /**
   * Whether the subscriptions are served: false only when every connection that carries one is down.
   * One master failing over cuts only its topics (told through the gap listeners): the node stays
   * ready for the others, so a load balancer does not take every gateway out at once.
   */
  connected(): boolean {
    let carrying = 0;
    for (const shard of this.#shards.values()) {
      if (shard.channels.size === 0) continue;
      if (shard.client.status === "ready") return true;
      carrying++;
    }
    return carrying === 0;
  }

  /** Resolves once every subscription made so far is in effect. */
  async ready(): Promise<void> {
    await Promise.all([...this.#home.values()].map(({ subscribed }) => subscribed));
  }

  close(): void {
    this.#closed = true;
    for (const shard of this.#shards.values()) shard.client.disconnect();
    this.#shards.clear();
  }

  #ref(channel: string): Promise<void> {
    const count = this.#refs.get(channel) ?? 0;
    this.#refs.set(channel, count + 1);
    const home = this.#home.get(channel);
    if (home) return home.subscribed;
    const subscribed = this.#slotsKnown.then(() => this.#subscribeOn(this.#shardFor(channel), channel));
    this.#home.set(channel, { shard: undefined, subscribed });
    return subscribed;
  }

  #unref(channel: string): void {
    const count = (this.#refs.get(channel) ?? 0) - 1;
    if (count > 0) {
      this.#refs.set(channel, count);
      return;
    }
    this.#refs.delete(channel);
    const home = this.#home.get(channel);
    this.#home.delete(channel);
    if (!home) return;
    void home.subscribed.then(
      () => {
        // Subscribed again meanwhile: the new subscription shares the connection's SSUBSCRIBE.
        if (this.#home.has(channel) || !home.shard) return;
        home.shard.channels.delete(channel);
        home.shard.client.sunsubscribe(channel).catch(() => undefined);
      },
      () => undefined,
    );
  }

  async #subscribeOn(shard: Shard, channel: string): Promise<void> {
    const home = this.#home.get(channel);
    if (home) home.shard = shard;
    shard.channels.add(channel);
    await shard.client.ssubscribe(channel);
  }

  #shardFor(channel: string): Shard {
    const { cluster } = this.#options;
    const node = cluster ? (cluster.slots[calculateSlot(channel)]?.[0] ?? "") : "";
    let shard = this.#shards.get(node);
    if (!shard) {
      shard = this.#open(node);
      this.#shards.set(node, shard);
    }
    return shard;
  }

  #open(node: string): Shard {
    const client = this.#options.connect(node);
    const shard: Shard = { node, client, channels: new Set(), generation: ++this.#clock, served: false, interrupted: false };
    client.on("smessageBuffer", (channel: Buffer, message: Buffer) => this.emit("smessageBuffer", channel, message));
    client.on("close", () => {
      if (!shard.served || shard.interrupted || this.#closed) return;
      shard.interrupted = true;
      shard.generation = ++this.#clock;
      // At once, before anything arrives on a new subscription: a socket that got a broadcast
      // from after the gap would skip the lost ones when it recovers from its last offset.
      this.#tellGap([...shard.channels]);
    });
    client.on("ready", () => {
      shard.served = true;
      if (!shard.interrupted) return;
      // ioredis sends the SSUBSCRIBEs again on ready: the PING is answered after them. Until then
      // `follow` refuses, so no catch-up relies on a subscription that is not back yet.
      setImmediate(() => {
        client
          .ping()
          .then(() => {
            if (this.#closed) return;
            shard.interrupted = false;
            shard.generation = ++this.#clock;
          })
          .catch(() => undefined);
      });
    });
    return shard;
  }

  /** After the cluster's slot map changed: moves each channel whose slot has another master now. */
  #rehome(): void {
    const { cluster } = this.#options;
    if (!cluster || this.#closed) return;
    const moved: string[] = [];
    for (const [channel, home] of this.#home) {
      const node = cluster.slots[calculateSlot(channel)]?.[0];
      if (node === undefined || !home.shard || node === home.shard.node) continue;
      moved.push(channel);
    }
    if (moved.length > 0) {
      this.#options.logger.warn({ channels: moved.length }, "sharded subscriptions move to another master (a failover or a resharding)");
      // Before subscribing there: what the new master published meanwhile never reached this node.
      this.#tellGap(moved);
    }
    for (const channel of moved) {
      const home = this.#home.get(channel);
      if (!home?.shard) continue;
      home.shard.channels.delete(channel);
      home.shard.client.sunsubscribe(channel).catch(() => undefined);
      const to = this.#shardFor(channel);
      to.generation = ++this.#clock;
      home.subscribed = this.#subscribeOn(to, channel);
    }
    for (const [node, shard] of this.#shards) {
      if (shard.channels.size > 0 || shard.client.status === "ready") continue;
      shard.client.disconnect();
      this.#shards.delete(node);
    }
  }

  #tellGap(channels: readonly string[]): void {
    if (channels.length === 0) return;
    for (const listener of this.#gapListeners) listener(channels);
  }
}
