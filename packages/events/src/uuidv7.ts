const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A time-sortable UUID (RFC 9562 version 7), used for event ids producers leave out. */
export function uuidv7(now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return format(bytes, now);
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
