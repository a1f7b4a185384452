import { randomUUID } from "node:crypto";
import { barrierMarkerId, encodeBarrierMarker } from "@hub/store";
import type { Cluster } from "ioredis";

/** PUBLISH from the master that serves the channel's slot: where the channel's broadcasts were published. */
const PUBLISH_HERE = "redis.call('PUBLISH', ARGV[1], ARGV[2]) return 1";

/**
 * The live barrier of classic pub/sub on a Redis Cluster. A PING on the subscriber connection is no
 * barrier there: broadcasts are published on the master of each topic's slot and reach the
 * subscriber's node over the cluster bus. So a marker is PUBLISHed from that same master, after the
 * caller's read; the bus keeps one node's messages in order, so once the marker arrives, every
 * broadcast published there before it has arrived too.
 */
export class PublishBarrier {
  readonly #pub: Cluster;
  readonly #waiting = new Map<string, () => void>();
  readonly #prefix = randomUUID();
  #next = 0;

  constructor(pub: Cluster) {
    this.#pub = pub;
  }

  /**
   * Resolves once a marker published on `channel` now came back through the subscriber; rejects
   * when it has not within `timeoutMs` (the subscription is not in effect).
   */
  async pass(channel: string, timeoutMs: number): Promise<void> {
    const id = `${this.#prefix}:${this.#next++}`;
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, resolve);
      timer = setTimeout(() => reject(new Error(`no barrier marker back on ${channel} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      // The key only routes the script to the channel's slot (the channel is every topic key's hash tag).
      await this.#pub.eval(PUBLISH_HERE, 1, `{${channel}}`, channel, encodeBarrierMarker(id));
      await arrived;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(id);
    }
  }

  /** Takes a marker out of the stream: true when `message` was one (this node's or another's). */
  take(message: Buffer): boolean {
    const id = barrierMarkerId(message);
    if (id === undefined) return false;
    this.#waiting.get(id)?.();
    return true;
  }
}
