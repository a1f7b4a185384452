/** Smallest latency the histogram tells apart, in milliseconds (1 µs). */
const FLOOR_MS = 0.001;
/** Each bucket is 1% wider than the previous one, so any percentile is within 1% of the truth. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Up to 1.01^2100 µs, far beyond any run's length. */
const BUCKETS = 2100;

export interface HistogramSnapshot {
  counts: number[];
  count: number;
  sum: number;
  max: number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * A log-bucketed latency histogram: constant memory however many deliveries are recorded, mergeable
 * across client processes. Percentiles are reported as the bucket's upper bound (at most 1% high);
 * the maximum is exact.
 */
export class LatencyHistogram {
  private counts = new Array<number>(BUCKETS).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const value = Math.max(ms, FLOOR_MS);
    const index = Math.min(BUCKETS - 1, Math.ceil(Math.log(value / FLOOR_MS) / LOG_GROWTH));
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** Forgets everything recorded so far. */
  reset(): void {
    this.counts = new Array<number>(BUCKETS).fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  snapshot(): HistogramSnapshot {
    return { counts: [...this.counts], count: this.count, sum: this.sum, max: this.max };
  }

  static merge(snapshots: readonly HistogramSnapshot[]): HistogramSnapshot {
    const merged: HistogramSnapshot = { counts: new Array<number>(BUCKETS).fill(0), count: 0, sum: 0, max: 0 };
    for (const s of snapshots) {
      s.counts.forEach((c, i) => {
        merged.counts[i] = (merged.counts[i] ?? 0) + c;
      });
      merged.count += s.count;
      merged.sum += s.sum;
      merged.max = Math.max(merged.max, s.max);
    }
    return merged;
  }

  static summarize(s: HistogramSnapshot): LatencySummary {
    const at = (quantile: number): number => {
      if (s.count === 0) return 0;
      const rank = Math.ceil(quantile * s.count);
      let seen = 0;
      for (let i = 0; i < s.counts.length; i++) {
        seen += s.counts[i] ?? 0;
        if (seen >= rank) return Math.min(FLOOR_MS * GROWTH ** i, s.max);
      }
      return s.max;
    };
    return { count: s.count, mean: s.count ? s.sum / s.count : 0, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.max };
  }
}
