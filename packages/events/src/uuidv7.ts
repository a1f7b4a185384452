const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * The 42-bit counter of RFC 9562 section 6.2 method 1 ("fixed bit-length dedicated counter"): the
 * 12 bits of `rand_a` and the 30 bits after the variant. Each new millisecond starts it at a random
 * value below 2^41, so it has room for at least 2^41 increments; within a millisecond it counts up.
 */
class Counter {
  #ms = Number.NEGATIVE_INFINITY;
  #high = 0; // 12 bits
  #low = 0; // 30 bits

  /**
   * Writes the next counter value for `ms` into `bytes` (whose bytes 6 to 11 are random) and returns
   * the millisecond to encode. With `keepOrder`, a clock that went back keeps the last millisecond,
   * and an exhausted counter moves on to the next one, so ids only grow.
   */
  next(bytes: Uint8Array, ms: number, keepOrder: boolean): number {
    let at = ms;
    if (at === this.#ms || (keepOrder && at < this.#ms)) {
      at = this.#ms;
      this.#low++;
      if (this.#low === 0x40000000) {
        this.#low = 0;
        this.#high++;
        if (this.#high === 0x1000) {
          at++;
          this.#seed(bytes);
        }
      }
    } else {
      this.#seed(bytes);
    }
    this.#ms = at;
    bytes[6] = 0x70 | (this.#high >> 8);
    bytes[7] = this.#high & 0xff;
    bytes[8] = 0x80 | (this.#low >>> 24);
    bytes[9] = (this.#low >>> 16) & 0xff;
    bytes[10] = (this.#low >>> 8) & 0xff;
    bytes[11] = this.#low & 0xff;
    return at;
  }

  #seed(bytes: Uint8Array): void {
    // The top bit stays 0: at least 2^41 increments before the counter runs out.
    this.#high = (((bytes[6] as number) << 4) | ((bytes[7] as number) >> 4)) & 0x7ff;
    this.#low =
      ((((bytes[8] as number) & 0x3f) << 24) | ((bytes[9] as number) << 16) | ((bytes[10] as number) << 8) | (bytes[11] as number)) >>> 0;
  }
}

/** Ids on the process clock; a clock that goes back does not break their order. */
const clockCounter = new Counter();
/** Ids for times the caller gives: ordered among calls with the same millisecond. */
const givenCounter = new Counter();

/**
 * A time-sortable UUID (RFC 9562 version 7), used for event ids producers leave out. Ids this
 * process generates are strictly increasing (as strings too): a 42-bit counter (method 1 of RFC 9562
 * section 6.2) orders the ids of one millisecond, the last 32 bits are random. With `now`, the id
 * encodes that time, and ids given the same `now` are increasing.
 */
export function uuidv7(now?: number): string {
  const bytes = randomBytes16();
  const ms = now === undefined ? clockCounter.next(bytes, Date.now(), true) : givenCounter.next(bytes, now, false);
  return format(bytes, ms);
}

// Random bytes are drawn 4 KiB at a time (one call into the CSPRNG per 256 ids, not one per id) and
// an id is built in one scratch buffer: ids are made on every client publication and event without one.
const POOL = new Uint8Array(4096);
let poolAt = POOL.length;
const scratch = new Uint8Array(16);

function randomBytes16(): Uint8Array {
  if (poolAt + 16 > POOL.length) {
    globalThis.crypto.getRandomValues(POOL);
    poolAt = 0;
  }
  scratch.set(POOL.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  return scratch;
}

/**
 * A UUIDv7 whose random part comes from `seed` (at least 10 bytes, e.g. a content hash): the same
 * input gives the same id on every node, and ids still sort by `ms`.
 */
export function uuidv7From(ms: number, seed: Uint8Array): string {
  if (seed.length < 10) throw new RangeError("seed needs at least 10 bytes");
  const bytes = new Uint8Array(16);
  bytes.set(seed.subarray(0, 10), 6);
  return format(bytes, Math.max(0, Math.floor(ms)));
}

function format(bytes: Uint8Array, now: number): string {
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  let out = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
    out += hex[bytes[i] as number];
  }
  return out;
}
