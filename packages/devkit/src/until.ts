/**
 * Polls `probe` until it yields a value (anything but `undefined`, `null` or `false`) and returns
 * it; fails after `timeoutMs` naming `what`. For conditions no event announces (a key expiring in
 * Redis, a health check turning red): await events where there are some.
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
