/** One id segment: the characters a topic id, org id or user id may use. */
export const ID_SEGMENT = /^[A-Za-z0-9_.-]{1,128}$/;

/** A Redis key prefix (`HUB_KEY_PREFIX`): what every key and channel of one hub starts with. */
export const KEY_PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Normalizes an id that may arrive as an integer (Rails sends integers) to its string form.
 * Returns `undefined` when the value is not a usable id.
 */
export function normalizeId(value: unknown): string | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? String(value) : undefined;
  }
  if (typeof value === "string" && ID_SEGMENT.test(value)) return value;
  return undefined;
}
