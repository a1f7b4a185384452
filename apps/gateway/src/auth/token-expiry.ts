import type { HubSocket } from "../protocol/hub-socket.js";

// setTimeout fires at once past 2^31-1 ms; longer waits are re-armed in steps.
const MAX_TIMER_MS = 2_147_483_647;

export interface TokenExpiryOptions<T> {
  /** When the item's token expires: epoch seconds (a JWT's `exp`). Read by `watch` and `unwatch`, so it must not change between them. */
  expOf(item: T): number;
  /** Told once per watched item whose expiry passed; the item is no longer watched by then. */
  onExpired(item: T): void;
  /** The clock, epoch ms. @default Date.now */
  now?: () => number;
}

/**
 * Token expiry for a whole gateway: watched items (sockets) in buckets by their `exp` second and
 * one timer, armed for the earliest bucket, instead of a timer per connection. An item fires once,
 * when the clock reaches `exp * 1000`, as a timer of its own would. The timer is owned: `close()`
 * clears it.
 *
 * @example
 * const expiry = new TokenExpiry<HubSocket>({ expOf: (socket) => socket.data.principal.exp, onExpired: expireSocket });
 * io.on("connection", (socket) => expiry.watch(socket)); // and expiry.unwatch(socket) on disconnect
 */
export class TokenExpiry<T> {
  /** Watched items by their `exp`. */
  readonly #buckets = new Map<number, Set<T>>();
  readonly #expOf: (item: T) => number;
  readonly #onExpired: (item: T) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  /** The `exp` the timer is armed for; Infinity while none is. */
  #armedFor = Number.POSITIVE_INFINITY;

  constructor({ expOf, onExpired, now = Date.now }: TokenExpiryOptions<T>) {
    this.#expOf = expOf;
    this.#onExpired = onExpired;
    this.#now = now;
  }

  /** Watches the item's token until it expires or `unwatch`. An already expired token fires on the next timer turn. */
  watch(item: T): void {
    const exp = this.#expOf(item);
    const bucket = this.#buckets.get(exp);
    if (bucket) bucket.add(item);
    else this.#buckets.set(exp, new Set([item]));
    if (exp < this.#armedFor) this.#arm(exp);
  }

  /** Stops watching the item (its connection closed, or its token is about to be replaced: `watch` it again after). */
  unwatch(item: T): void {
    const exp = this.#expOf(item);
    const bucket = this.#buckets.get(exp);
    if (!bucket?.delete(item) || bucket.size > 0) return;
    this.#buckets.delete(exp);
    // The timer stays armed: when it fires for a bucket that is gone it re-arms for the next one.
  }

  /** How many items are watched. */
  get size(): number {
    let size = 0;
    for (const bucket of this.#buckets.values()) size += bucket.size;
    return size;
  }

  /** Clears the timer and forgets every item; none fires after. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    this.#buckets.clear();
  }

  #arm(exp: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = exp;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.min(exp * 1000 - this.#now(), MAX_TIMER_MS)));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#now();
    const due: T[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [exp, bucket] of this.#buckets) {
      if (exp * 1000 > now) {
        next = Math.min(next, exp);
        continue;
      }
      this.#buckets.delete(exp);
      for (const item of bucket) due.push(item);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    for (const item of due) this.#onExpired(item);
  }
}

/** What an expired token does to its connection: tells the client `auth.expired` and disconnects it. */
export function expireSocket(socket: HubSocket): void {
  socket.emit("auth.expired", { exp: socket.data.principal.exp });
  socket.disconnect(true);
}
