import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ThrottledTyping } from "./typing-indicator.js";

describe("ThrottledTyping", () => {
  let sent: string[];
  let closed: number;
  let typing: ThrottledTyping;

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    closed = 0;
    typing = new ThrottledTyping({
      throttleMs: 3_000,
      idleMs: 5_000,
      send: (event) => void sent.push(event),
      onClose: () => void closed++,
    });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends typing:start at most once per throttle window while start() is called repeatedly", () => {
    for (let t = 0; t < 7_000; t += 500) {
      typing.start();
      vi.advanceTimersByTime(500);
    }
    // At 0, 3000 and 6000 ms.
    expect(sent).toEqual(["typing:start", "typing:start", "typing:start"]);
  });

  it("sends typing:stop after the idle timeout since the last start(), once", () => {
    typing.start();
    vi.advanceTimersByTime(2_000);
    typing.start(); // re-arms the idle timer, within the throttle window: nothing sent
    vi.advanceTimersByTime(4_999);
    expect(sent).toEqual(["typing:start"]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(["typing:start", "typing:stop"]);
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(2);
  });

  it("stop() sends typing:stop only after a start, and the next start() goes out at once", () => {
    typing.stop();
    expect(sent).toEqual([]);
    typing.start();
    typing.stop();
    typing.start();
    expect(sent).toEqual(["typing:start", "typing:stop", "typing:start"]);
    expect(vi.getTimerCount()).toBe(1);
  });

  it("close() stops, clears its timer, and ignores start() afterwards", () => {
    typing.start();
    typing.close();
    typing.close();
    expect(sent).toEqual(["typing:start", "typing:stop"]);
    expect(closed).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    typing.start();
    expect(sent).toHaveLength(2);
  });

  it("abandon() (the hub closing) clears the timer and sends nothing", () => {
    typing.start();
    typing.abandon();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual(["typing:start"]);
  });
});
