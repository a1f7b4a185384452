import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClientFleet } from "./load/client-fleet.js";

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Calls `send(seq, sentAt)` `count` times on a fixed schedule of `rate` per second; each call gets
 * the time it actually happened. Resolves with how far behind schedule it ever fell.
 */
export async function produceAtRate(
  count: number,
  rate: number,
  firstSeq: number,
  send: (seq: number, sentAt: number) => void,
): Promise<{ lagMaxMs: number }> {
  const start = now();
  let lagMaxMs = 0;
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    const sent = now();
    lagMaxMs = Math.max(lagMaxMs, sent - due);
    send(firstSeq + i, sent);
  }
  return { lagMaxMs };
}

/** Polls the client fleet until `done` holds or `timeoutMs` passes; resolves with its last progress. */
export async function waitForFleet(
  fleet: ClientFleet,
  done: (p: { received: number; warmup: number }) => boolean,
  timeoutMs: number,
  pollMs = 100,
): Promise<{ received: number; warmup: number; cpuMicros: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await fleet.progress();
    if (done(progress) || Date.now() >= deadline) return progress;
    await sleep(pollMs);
  }
}
