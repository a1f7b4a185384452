import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";

export interface NodeSubscriberOptions {
  /** The cluster's nodes now (`host:port`), to pick one from. */
  nodes(): string[];
  /** Opens a connection to one node; it must give up (emit `end`) after a few failed attempts. */
  connect(node: string): Redis;
}

/**
 * Classic pub/sub (`PSUBSCRIBE`, `SUBSCRIBE`) on a Redis Cluster, through one connection to one
 * node: Redis forwards classic messages to every node, so any node will do. It is what the classic
 * adapter takes as its subscriber client, and, unlike ioredis's own cluster subscriber, it says when
 * its stream broke: `close` when the connection drops (messages published meanwhile are lost),
 * `ready` once it is subscribed again, on the same node or, when that one is gone, on another.
 */
export class NodeSubscriber extends EventEmitter {
  readonly #options: NodeSubscriberOptions;
  readonly #patterns = new Set<string>();
  readonly #channels = new Set<string>();
  #client: Redis;
  #closed = false;

  constructor(options: NodeSubscriberOptions) {
    super();
    this.#options = options;
    this.#client = this.#open(undefined);
  }

  get status(): Redis["status"] {
    return this.#client.status;
  }

  async psubscribe(...patterns: string[]): Promise<void> {
    for (const pattern of patterns) this.#patterns.add(pattern);
    await this.#client.psubscribe(...patterns);
  }

  async subscribe(channels: string | string[]): Promise<void> {
    const list = Array.isArray(channels) ? channels : [channels];
    for (const channel of list) this.#channels.add(channel);
    await this.#client.subscribe(...list);
  }

  async punsubscribe(...patterns: string[]): Promise<void> {
    for (const pattern of patterns) this.#patterns.delete(pattern);
    await this.#client.punsubscribe(...patterns);
  }

  async unsubscribe(channels: string | string[]): Promise<void> {
    const list = Array.isArray(channels) ? channels : [channels];
    for (const channel of list) this.#channels.delete(channel);
    await this.#client.unsubscribe(...list);
  }

  /** Answered after every message the node sent this connection before. */
  async ping(): Promise<void> {
    await this.#client.ping();
  }

  close(): void {
    this.#closed = true;
    this.#client.disconnect();
  }

  #open(previous: string | undefined): Redis {
    const nodes = this.#options.nodes();
    const others = nodes.filter((node) => node !== previous);
    const candidates = others.length > 0 ? others : nodes;
    const node = candidates[Math.floor(Math.random() * candidates.length)];
    if (node === undefined) throw new Error("no Redis Cluster node to subscribe on");
    const client = this.#options.connect(node);
    client.on("pmessageBuffer", (pattern: Buffer, channel: Buffer, message: Buffer) =>
      this.emit("pmessageBuffer", pattern, channel, message),
    );
    client.on("messageBuffer", (channel: Buffer, message: Buffer) => this.emit("messageBuffer", channel, message));
    client.on("close", () => this.emit("close"));
    client.on("ready", () => this.emit("ready"));
    client.once("end", () => {
      if (this.#closed) return;
      // The node is gone: subscribe on another one, with everything this one was subscribed to.
      this.#client = this.#open(node);
      if (this.#patterns.size > 0) this.#client.psubscribe(...this.#patterns).catch(() => undefined);
      if (this.#channels.size > 0) this.#client.subscribe(...this.#channels).catch(() => undefined);
    });
    return client;
  }
}
