import { type ErrorBody, PublishError, type PublishErrorCode } from "@hub/events";
import type { DeadLetterEntry, DeadLetters } from "./dead-letters.js";
import type { PublishContext, Publisher } from "./publisher.js";

export interface ReplayResult {
  /** Entries published again (or found to be duplicates of delivered events) and removed. */
  replayed: string[];
  /** Entries that failed again; they stay in the queue. */
  failed: Array<{ id: string; error: ErrorBody<PublishErrorCode | "not_found" | "truncated"> & { issues?: readonly string[] } }>;
}

export interface ReplayOptions {
  /** Only these entries; default: the oldest `count`. */
  ids?: readonly string[];
  /** @default 100 */
  count?: number;
  /** The publish context of an entry (the legacy path needs its channel's org). */
  contextOf: (entry: DeadLetterEntry) => PublishContext;
}

/**
 * Runs dead-lettered events through the publish pipeline again, e.g. after a route or schema was
 * added. Successes leave the queue; failures stay, and are not dead-lettered a second time.
 */
export async function replayDeadLetters(
  publisher: Publisher,
  deadLetters: DeadLetters,
  stream: string,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const count = options.ids ? Math.max(options.ids.length, options.count ?? 0) : (options.count ?? 100);
  const entries = await findEntries(deadLetters, stream, options.ids, count);
  const result: ReplayResult = { replayed: [], failed: [] };
  for (const id of options.ids ?? []) {
    if (!entries.some((e) => e.id === id)) result.failed.push({ id, error: { code: "not_found", message: "no such entry" } });
  }
  for (const entry of entries) {
    if (entry.truncated) {
      result.failed.push({
        id: entry.id,
        error: { code: "truncated", message: "the raw input was cut when recorded; it cannot be replayed" },
      });
      continue;
    }
    try {
      await publisher.publish(entry.raw, { ...options.contextOf(entry), raw: true, deadLetter: false });
      result.replayed.push(entry.id);
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      result.failed.push({ id: entry.id, error: error.toJSON() });
    }
  }
  await deadLetters.remove(stream, result.replayed);
  return result;
}

async function findEntries(deadLetters: DeadLetters, stream: string, ids: readonly string[] | undefined, count: number) {
  if (!ids) return deadLetters.entries(stream, { count });
  const wanted = new Set(ids);
  const found: DeadLetterEntry[] = [];
  let after: string | undefined;
  // Streams are capped, so this scan is bounded.
  for (;;) {
    const page = await deadLetters.entries(stream, { count: 500, ...(after === undefined ? {} : { after }) });
    for (const entry of page) if (wanted.has(entry.id)) found.push(entry);
    if (page.length < 500 || found.length === wanted.size) return found;
    after = page.at(-1)?.id;
  }
}
