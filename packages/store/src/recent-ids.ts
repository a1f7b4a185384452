/**
 * A bounded set of recently seen ids with expiry: the memory engine's dedupe store. When full,
 * the oldest id is forgotten first.
 */
export class RecentIds {
  readonly #seenAt = new Map<string, number>();

  /**
   * @param windowMs how long an id is remembered
   * @param capacity most ids remembered at once @default 100000
   * @param clock what `claim` reads the time from when not given one @default Date.now
   */
  constructor(
    private readonly windowMs: number,
    private readonly capacity = 100_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records the id; false when it was already seen within the window. */
  claim(id: string, now: number = this.clock()): boolean {
    const seen = this.#seenAt.get(id);
    if (seen !== undefined && now - seen < this.windowMs) return false;
    this.#seenAt.delete(id);
    this.#seenAt.set(id, now);
    this.#evict(now);
    return true;
  }

  /** Forgets the id, e.g. when the event it was claimed for could not be delivered after all. */
  release(id: string): void {
    this.#seenAt.delete(id);
  }

  #evict(now: number): void {
    // Map iteration is insertion order: the oldest entries come first.
    for (const [id, seenAt] of this.#seenAt) {
      if (this.#seenAt.size <= this.capacity && now - seenAt < this.windowMs) break;
      this.#seenAt.delete(id);
    }
  }
}
