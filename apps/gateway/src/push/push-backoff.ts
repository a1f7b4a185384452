/** The longest wait between two attempts of a push. */
export const PUSH_RETRY_CAP_MS = 5 * 60_000;

/**
 * How long to wait before the next attempt after `failures` failed ones (1, 2, ...): `baseMs`
 * doubled per failure, capped at `PUSH_RETRY_CAP_MS`, then "equal jitter" (between half and all of
 * it), so pushes that failed together do not all come back at once.
 *
 * @example
 * retryDelay(1, 1000, () => 0.5); // 750: half of 1000, plus half of that half
 * retryDelay(20, 1000, () => 1); // 300000: capped
 */
export function retryDelay(failures: number, baseMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const full = Math.min(baseMs * 2 ** exponent, PUSH_RETRY_CAP_MS);
  return Math.round(full / 2 + (full / 2) * random());
}
