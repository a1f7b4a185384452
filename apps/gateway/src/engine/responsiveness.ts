import type { RedisClient } from "@hub/store";
import type { Logger } from "pino";

/** How often the gateway checks that Redis answers. */
const PROBE_INTERVAL_MS = 1_000;
/** A PING not answered within this is a Redis that does not answer (a network blackhole, a stalled server). */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Whether Redis answers, not only whether the connection is up: ioredis keeps a connection whose
 * peer went silent (a blackholed network, a SIGSTOPped Redis) `ready`, and commands queue behind it
 * without end. A PING every second, answered within 2 s, tells: while it is not, the engine reports
 * Redis `disconnected`, so health answers 503 and HTTP publishes are refused at once rather than
 * held. The timer is owned: `stop()` clears it.
 */
export function watchResponsiveness(redis: RedisClient, logger: Logger): { readonly responsive: boolean; stop(): void } {
  let responsive = true;
  let inFlight = false;
  const state = {
    get responsive() {
      return responsive;
    },
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    if (inFlight || redis.status !== "ready") return;
    inFlight = true;
    const started = Date.now();
    const overdue = setTimeout(() => {
      if (!responsive) return;
      responsive = false;
      logger.warn({ timeoutMs: PROBE_TIMEOUT_MS }, "redis does not answer: reporting it unreachable");
    }, PROBE_TIMEOUT_MS);
    redis.ping().then(
      () => {
        clearTimeout(overdue);
        inFlight = false;
        if (!responsive) logger.info({ waitedMs: Date.now() - started }, "redis answers again");
        responsive = true;
      },
      () => {
        clearTimeout(overdue);
        inFlight = false;
      },
    );
  }, PROBE_INTERVAL_MS);
  timer.unref();
  return state;
}
