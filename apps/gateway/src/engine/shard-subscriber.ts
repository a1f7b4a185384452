import { EventEmitter } from "node:events";
import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";

/** Where one channel is subscribed. */
interface Home {
  /** The channel's Redis Cluster slot, computed once (the slot map is checked on every refresh). */
  readonly slot: number;
  /** Its connection; undefined until the cluster's slot map is known. */
  shard: Shard | undefined;
  /** The SSUBSCRIBE in place: resolves once it is in effect, rejects when it failed or was superseded. */
  subscribed: Promise<void>;
  /** Rejects `subscribed` (a newer subscription took over, or the channel was let go). */
  supersede: ((error: Error) => void) | undefined;
}

/** What `ShardSubscriber.shards()` reports about one subscriber connection. */
export interface ShardState {
  /** The master's `host:port`, or `""` on a single Redis. */
  node: string;
  ready: boolean;
  /** Channels subscribed on it. */
  channels: number;
}

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
  /** Channels of node-local rooms (a user's own room): the adapter asks for them, nothing is ever published there. @default none */
  localOnly?(channel: string): boolean;
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
  /** Where each subscribed channel is. */
  readonly #home = new Map<string, Home>();
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

  /** The adapter's SSUBSCRIBE (it does not wait for it: a failure is told as a gap). */
  ssubscribe(channel: string): Promise<void> {
    if (this.#options.localOnly?.(channel)) return Promise.resolve();
    return this.#ref(channel).catch(() => undefined);
  }

  /** The adapter's SUNSUBSCRIBE. */
  async sunsubscribe(channels: string | string[]): Promise<void> {
    for (const channel of Array.isArray(channels) ? channels : [channels]) {
      if (!this.#options.localOnly?.(channel)) this.#unref(channel);
    }
  }

  /**
   * Subscribes to `channel` until the returned function is called; resolves once the subscription
   * is in effect, so every message published after that reaches the `smessageBuffer` listeners.
   * Rejects while the connection that carries the channel is down.
   */
  async follow(channel: string): Promise<() => void> {
    try {
      await this.#ref(channel);
    } catch (error) {
      this.#unref(channel);
      throw error;
    }
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

  /**
   * Each subscriber connection: the master it reads (`""` on a single Redis), whether it is ready,
   * and how many channels it carries (`hub_redis_shard_*`).
   */
  shards(): ShardState[] {
    return [...this.#shards.values()].map(({ node, client, channels }) => ({
      node,
      ready: client.status === "ready",
      channels: channels.size,
    }));
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

  /** Counts a reference and resolves once the channel's current subscription is in effect. */
  async #ref(channel: string): Promise<void> {
    this.#refs.set(channel, (this.#refs.get(channel) ?? 0) + 1);
    let home = this.#home.get(channel);
    if (!home) {
      const created: Home = { slot: calculateSlot(channel), shard: undefined, subscribed: Promise.resolve(), supersede: undefined };
      home = created;
      this.#home.set(channel, created);
      this.#track(
        channel,
        created,
        this.#slotsKnown.then(() => this.#subscribeOn(created, this.#shardFor(created.slot), channel)),
      );
    }
    // A failover or a MOVED may replace the subscription meanwhile: wait for the one in place.
    for (;;) {
      const awaited = home.subscribed;
      try {
        await awaited;
      } catch (error) {
        if (this.#home.get(channel) === home && home.subscribed !== awaited) continue;
        throw error;
      }
      if (home.subscribed === awaited) return;
    }
  }

  /**
   * Makes `subscribing` the home's subscription. A newer one supersedes it (its waiters move on to
   * the newer); one that fails is a gap: the channel's listeners lost it, and the next reference
   * subscribes again.
   */
  #track(channel: string, home: Home, subscribing: Promise<void>): void {
    home.supersede?.(new Error(`the subscription to ${channel} moved`));
    let supersede: ((error: Error) => void) | undefined;
    const superseded = new Promise<never>((_, reject) => {
      supersede = reject;
    });
    home.supersede = supersede;
    const subscribed = Promise.race([subscribing, superseded]);
    home.subscribed = subscribed;
    subscribed.catch(() => {
      if (this.#closed || this.#home.get(channel) !== home || home.subscribed !== subscribed) return;
      this.#home.delete(channel);
      home.shard?.channels.delete(channel);
      this.#tellGap([channel]);
    });
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
    home.supersede?.(new Error(`unsubscribed from ${channel}`));
    const end = () => {
      // Subscribed again on the same connection meanwhile: the new subscription shares its SSUBSCRIBE.
      const shard = home.shard;
      if (!shard || this.#home.get(channel)?.shard === shard) return;
      shard.channels.delete(channel);
      shard.client.sunsubscribe(channel).catch(() => undefined);
    };
    // After the SSUBSCRIBE in flight, so the SUNSUBSCRIBE comes after it on the connection.
    void home.subscribed.then(end, end);
  }

  async #subscribeOn(home: Home, shard: Shard, channel: string): Promise<void> {
    // Let go of (or replaced) while the slot map was loading: nobody wants this subscription.
    if (this.#home.get(channel) !== home) return;
    home.shard = shard;
    shard.channels.add(channel);
    await shard.client.ssubscribe(channel);
  }

  #shardFor(slot: number): Shard {
    const { cluster } = this.#options;
    const node = cluster ? (cluster.slots[slot]?.[0] ?? "") : "";
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
    // A MOVED reply (a stale slot map) leaves ioredis's command unanswered: refresh the map, which
    // moves the channel to its master and supersedes the subscription that waits.
    client.on("moved", () => this.#options.cluster?.refreshSlotsCache());
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
      const node = cluster.slots[home.slot]?.[0];
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
      const to = this.#shardFor(home.slot);
      to.generation = ++this.#clock;
      this.#track(channel, home, this.#subscribeOn(home, to, channel));
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
