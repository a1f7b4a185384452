/**
 * A bounded set of recently seen keys, least recently seen forgotten first: the client's memory of
 * delivered envelopes, so a replay or a store-and-forward redelivery never reaches `onEvent` twice.
 */
export class RecentIds {
  // A Map iterates in insertion order: deleting and re-inserting moves a key to the young end.
  readonly #keys = new Map<string, true>();

  /** @param capacity how many keys are remembered at most */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be a positive integer");
  }

  /** Records the key; `false` when it was already there (a duplicate). */
  add(key: string): boolean {
    if (this.#keys.has(key)) {
      this.#keys.delete(key);
      this.#keys.set(key, true);
      return false;
    }
    this.#keys.set(key, true);
    if (this.#keys.size > this.capacity) {
      const oldest = this.#keys.keys().next();
      if (!oldest.done) this.#keys.delete(oldest.value);
    }
    return true;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  get size(): number {
    return this.#keys.size;
  }
}
