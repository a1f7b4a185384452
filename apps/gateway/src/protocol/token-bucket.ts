/** A token bucket: allows `ratePerSecond` on average with bursts up to the same amount. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly ratePerSecond: number,
    now: number = Date.now(),
  ) {
    this.#tokens = ratePerSecond;
    this.#last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number = Date.now()): boolean {
    this.#tokens = Math.min(this.ratePerSecond, this.#tokens + ((now - this.#last) / 1000) * this.ratePerSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
