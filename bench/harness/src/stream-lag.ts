import { CLIENT_EVENT_BUCKETS } from "@hub/events";
import { hubKeys } from "@hub/store";
import { Redis } from "ioredis";
import { LatencyHistogram, type LatencySummary } from "./latency-histogram.js";

/** What the backend-stream reader saw of the measured messages. */
export interface StreamLag {
  /** Measured entries read (`data.metadata.bench_seq >= 0`). */
  entries: number;
  /** Read time minus the envelope's `ts`, both `Date.now()` (whole milliseconds: ±1 ms). */
  lagMs: LatencySummary;
}

const BLOCK_MS = 100;
const COUNT = 1_000;

/**
 * A backend consumer of a namespace's client-event streams (`hubKeys().clientEvents(ns, k)` for every
 * bucket k): one XREAD over all buckets in a loop, from each stream's last entry at `start`, timing each
 * measured entry against its envelope's `ts`.
 *
 * @example
 * const reader = await StreamLagReader.start(redisUrl, "chat");
 * reader.reset(); // at the start of the window
 * const lag = await reader.stop();
 */
export class StreamLagReader {
  private readonly histogram = new LatencyHistogram();
  private entries = 0;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly redis: Redis,
    private readonly keys: string[],
    private readonly ids: string[],
  ) {}

  /** Connects and starts reading after each stream's current last entry. */
  static async start(redisUrl: string, namespace: string): Promise<StreamLagReader> {
    const keys = Array.from({ length: CLIENT_EVENT_BUCKETS }, (_, k) => hubKeys().clientEvents(namespace, k));
    const redis = new Redis(redisUrl);
    const ids = await Promise.all(
      keys.map(async (key) => {
        const [last] = await redis.xrevrange(key, "+", "-", "COUNT", 1);
        return last?.[0] ?? "0-0";
      }),
    );
    const reader = new StreamLagReader(redis, keys, ids);
    reader.loop = reader.read();
    return reader;
  }

  /** Forgets what was read so far (the warm-up). */
  reset(): void {
    this.histogram.reset();
    this.entries = 0;
  }

  /** Stops reading, disconnects, and returns the figures since the last reset. */
  async stop(): Promise<StreamLag> {
    this.stopped = true;
    await this.loop;
    this.redis.disconnect();
    return { entries: this.entries, lagMs: LatencyHistogram.summarize(this.histogram.snapshot()) };
  }

  private async read(): Promise<void> {
    while (!this.stopped) {
      const reply = (await this.redis.xread("COUNT", COUNT, "BLOCK", BLOCK_MS, "STREAMS", ...this.keys, ...this.ids)) as
        | [string, [string, string[]][]][]
        | null;
      const at = Date.now();
      for (const [key, entries] of reply ?? []) {
        const bucket = this.keys.indexOf(key);
        for (const [id, fields] of entries) {
          this.ids[bucket] = id;
          this.record(fields, at);
        }
      }
    }
  }

  private record(fields: string[], at: number): void {
    const envelope = fields[fields.indexOf("e") + 1];
    if (envelope === undefined) return;
    const { ts, data } = JSON.parse(envelope) as { ts: number; data?: { metadata?: { bench_seq?: number } } };
    if ((data?.metadata?.bench_seq ?? -1) < 0) return;
    this.entries++;
    this.histogram.record(at - ts);
  }
}
