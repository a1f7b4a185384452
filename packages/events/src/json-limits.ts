/**
 * Deepest nesting of objects and arrays an event may have, the event object itself being level 1
 * (so its `payload` is level 2). Deeper input is refused with `invalid_event` before anything
 * recursive (validators, encoders, `JSON.stringify`) sees it.
 */
export const MAX_EVENT_DEPTH = 64;

/** Largest event the publish pipeline accepts on any path, as JSON text in UTF-8: 1 MiB, the HTTP body limit. */
export const MAX_EVENT_BYTES = 1_048_576;

export interface JsonLimits {
  /** @default MAX_EVENT_DEPTH */
  maxDepth?: number;
  /** @default MAX_EVENT_BYTES */
  maxBytes?: number;
}

/** The first limit a value breaks, if any. */
export type JsonLimitBreach = "depth" | "size";

/**
 * Checks a value against the event limits without recursion: `"depth"` when objects and arrays
 * nest deeper than `maxDepth` (a cycle counts as infinitely deep), `"size"` when its JSON text would
 * take more than `maxBytes` (counted in UTF-8 as `JSON.stringify` would write it, escapes included:
 * a newline counts 2 bytes, `\u0001` 6). Stops at the first breach, so its cost is bounded by the
 * limits, not by the input.
 *
 * @example
 * checkJsonLimits({ type: "a.b", org_id: 1, payload: {} }); // undefined
 */
export function checkJsonLimits(value: unknown, limits: JsonLimits = {}): JsonLimitBreach | undefined {
  const maxDepth = limits.maxDepth ?? MAX_EVENT_DEPTH;
  const maxBytes = limits.maxBytes ?? MAX_EVENT_BYTES;
  const values: unknown[] = [value];
  const depths: number[] = [0];
  let bytes = 0;
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop() as number;
    switch (typeof current) {
      case "string":
        bytes += 2 + utf8Length(current, maxBytes - bytes);
        break;
      case "number":
      case "bigint":
        bytes += String(current).length;
        break;
      case "boolean":
        bytes += current ? 4 : 5;
        break;
      case "object": {
        if (current === null) {
          bytes += 4;
          break;
        }
        if (depth + 1 > maxDepth) return "depth";
        if (Array.isArray(current)) {
          // Brackets and commas first: a huge array breaks the size limit before it is walked.
          bytes += 1 + Math.max(1, current.length);
          if (bytes > maxBytes) return "size";
          for (let i = current.length - 1; i >= 0; i--) {
            const item: unknown = current[i];
            values.push(omitted(item) ? null : item);
            depths.push(depth + 1);
          }
        } else {
          let written = 0;
          for (const key in current) {
            if (!Object.hasOwn(current, key)) continue;
            const item = (current as Record<string, unknown>)[key];
            if (omitted(item)) continue;
            // `"key":` and the comma (or the opening brace) before it.
            bytes += 4 + utf8Length(key, maxBytes - bytes);
            if (bytes > maxBytes) return "size";
            values.push(item);
            depths.push(depth + 1);
            written++;
          }
          bytes += written === 0 ? 2 : 1;
        }
        break;
      }
      default:
        // undefined, functions, symbols: only at the top, where JSON.stringify writes nothing.
        break;
    }
    if (bytes > maxBytes) return "size";
  }
  return undefined;
}

/** What `JSON.stringify` leaves out of objects (and writes as `null` in arrays). */
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

/**
 * Bytes `JSON.stringify` writes for a string's content (without its quotes), in UTF-8: `"` and `\\`
 * and `\b \f \n \r \t` take 2, other control characters and lone surrogates 6 (`\u001f`), a
 * surrogate pair 4, other units 1 to 3. Once the text is clearly over `budget`, any number over it.
 */
function utf8Length(text: string, budget: number): number {
  if (text.length > budget) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x20) bytes += unit === 0x08 || unit === 0x09 || unit === 0x0a || unit === 0x0c || unit === 0x0d ? 2 : 6;
    else if (unit === 0x22 || unit === 0x5c) bytes += 2;
    else if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else if (unit >= 0xd800 && unit < 0xe000) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}
