import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TokenExpiry } from "./token-expiry.js";

/** A connection as the expiry sees it: its token's `exp` (epoch seconds). */
interface Conn {
  name: string;
  exp: number;
}

const T0 = 1_800_000_000_000;

function watched() {
  const expired: string[] = [];
  const expiry = new TokenExpiry<Conn>({ expOf: (c) => c.exp, onExpired: (c) => expired.push(c.name) });
  return { expiry, expired };
}

describe("TokenExpiry: one timer for every connection's token", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires each connection once, when the clock reaches its exp, and no earlier", () => {
    const { expiry, expired } = watched();
    expiry.watch({ name: "a", exp: T0 / 1000 + 2 });
    expiry.watch({ name: "b", exp: T0 / 1000 + 2 });
    expiry.watch({ name: "c", exp: T0 / 1000 + 5 });
    vi.advanceTimersByTime(1_999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(["a", "b"]);
    vi.advanceTimersByTime(3_000);
    expect(expired).toEqual(["a", "b", "c"]);
    vi.advanceTimersByTime(60_000);
    expect(expired).toEqual(["a", "b", "c"]);
    expect(expiry.size).toBe(0);
    // Nothing left to wait for: no timer stays armed.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("uses one timer however many connections it watches", () => {
    const { expiry } = watched();
    for (let i = 0; i < 1_000; i++) expiry.watch({ name: `c${i}`, exp: T0 / 1000 + 1 + (i % 300) });
    expect(expiry.size).toBe(1_000);
    expect(vi.getTimerCount()).toBe(1);
    expiry.close();
  });

  it("an earlier connection arriving re-arms the timer for it", () => {
    const { expiry, expired } = watched();
    expiry.watch({ name: "late", exp: T0 / 1000 + 10 });
    expiry.watch({ name: "early", exp: T0 / 1000 + 1 });
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual(["early"]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(9_000);
    expect(expired).toEqual(["early", "late"]);
  });

  it("a token that already expired fires on the next timer turn", () => {
    const { expiry, expired } = watched();
    expiry.watch({ name: "stale", exp: T0 / 1000 - 3 });
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(expired).toEqual(["stale"]);
  });

  it("a refresh (unwatch, new exp, watch) moves the expiry: later and earlier", () => {
    const { expiry, expired } = watched();
    const later: Conn = { name: "later", exp: T0 / 1000 + 1 };
    const sooner: Conn = { name: "sooner", exp: T0 / 1000 + 10 };
    expiry.watch(later);
    expiry.watch(sooner);
    expiry.unwatch(later);
    later.exp = T0 / 1000 + 3;
    expiry.watch(later);
    expiry.unwatch(sooner);
    sooner.exp = T0 / 1000 + 2;
    expiry.watch(sooner);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual(["sooner"]);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual(["sooner", "later"]);
    vi.advanceTimersByTime(20_000);
    expect(expired).toEqual(["sooner", "later"]);
  });

  it("waits past setTimeout's limit (2^31-1 ms) in steps, without firing early", () => {
    const { expiry, expired } = watched();
    const days40 = 40 * 24 * 3600;
    expiry.watch({ name: "long", exp: T0 / 1000 + days40 });
    vi.advanceTimersByTime(2_147_483_647);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(days40 * 1000 - 2_147_483_647);
    expect(expired).toEqual(["long"]);
  });

  it("an unwatched (closed) connection never fires, and close() clears everything", () => {
    const { expiry, expired } = watched();
    const gone: Conn = { name: "gone", exp: T0 / 1000 + 1 };
    expiry.watch(gone);
    expiry.watch({ name: "kept", exp: T0 / 1000 + 2 });
    expiry.unwatch(gone);
    expect(expiry.size).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([]);
    expiry.close();
    expect(expiry.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(expired).toEqual([]);
  });

  it("a connection closed by its own expiry (unwatch inside onExpired) leaves the others due with it to fire", () => {
    const expired: string[] = [];
    const expiry: TokenExpiry<Conn> = new TokenExpiry<Conn>({
      expOf: (c) => c.exp,
      onExpired: (c) => {
        expired.push(c.name);
        expiry.unwatch(c);
      },
    });
    for (const name of ["a", "b", "c"]) expiry.watch({ name, exp: T0 / 1000 + 1 });
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual(["a", "b", "c"]);
    expect(expiry.size).toBe(0);
  });
});
