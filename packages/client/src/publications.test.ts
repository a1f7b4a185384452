import type { PublishOk, PublishRequest } from "@hub/events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HubError } from "./hub-error.js";
import { Publications } from "./publications.js";

/** A connection whose answers the test gives, one pending publish at a time. */
class FakeTransport {
  up = true;
  readonly sent: Array<{ request: PublishRequest; timeoutMs: number }> = [];
  #answers: Array<{ resolve(ok: PublishOk): void; reject(error: HubError): void }> = [];

  connected = () => this.up;
  send = (request: PublishRequest, timeoutMs: number): Promise<PublishOk> => {
    this.sent.push({ request, timeoutMs });
    return new Promise((resolve, reject) => this.#answers.push({ resolve, reject }));
  };

  /** Answers the oldest pending publish. */
  async answer(reply: Partial<PublishOk> | HubError): Promise<void> {
    const next = this.#answers.shift();
    if (!next) throw new Error("no publish pending");
    if (reply instanceof HubError) next.reject(reply);
    else next.resolve({ ok: true, id: this.sent.at(-1)?.request.id ?? "", ...reply });
    await vi.advanceTimersByTimeAsync(0);
  }
}

const message = { topic: "chat:c1", event: "message:send", data: { text: "hi" } };

describe("Publications", () => {
  let transport: FakeTransport;
  let publications: Publications;

  beforeEach(() => {
    vi.useFakeTimers();
    transport = new FakeTransport();
    publications = new Publications({ transport, timeoutMs: 30_000, attemptTimeoutMs: 10_000, retryDelay: () => 100 });
  });

  afterEach(() => {
    publications.close();
    vi.useRealTimers();
  });

  it("picks a UUIDv7 id once and resolves with the ack", async () => {
    const done = publications.publish(message);
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent[0]?.request).toMatchObject({ ...message, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    await transport.answer({ offset: 3, epoch: "e" });
    await expect(done).resolves.toMatchObject({ ok: true, offset: 3, id: transport.sent[0]?.request.id });
  });

  it("retries timeout, unavailable and internal with the same id, after the retry delay", async () => {
    const done = publications.publish({ ...message, id: "m1", token: "grant" });
    await vi.advanceTimersByTimeAsync(0);
    await transport.answer(new HubError("timeout", "no answer"));
    expect(transport.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    await transport.answer(new HubError("unavailable", "redis down"));
    await vi.advanceTimersByTimeAsync(100);
    await transport.answer(new HubError("internal", "oops"));
    await vi.advanceTimersByTimeAsync(100);
    await transport.answer({ duplicate: true });
    await expect(done).resolves.toMatchObject({ id: "m1", duplicate: true });
    expect(transport.sent.map((s) => s.request)).toEqual(Array(4).fill({ ...message, id: "m1", token: "grant" }));
  });

  it("waits retry_after_ms after rate_limited", async () => {
    const done = publications.publish({ ...message, id: "m1" });
    await vi.advanceTimersByTimeAsync(0);
    await transport.answer(new HubError("rate_limited", "slow down", { retryAfterMs: 700 }));
    await vi.advanceTimersByTimeAsync(699);
    expect(transport.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.sent).toHaveLength(2);
    await transport.answer({});
    await expect(done).resolves.toMatchObject({ id: "m1" });
  });

  it("waits for the connection before an attempt, and sends once it is back", async () => {
    transport.up = false;
    const done = publications.publish({ ...message, id: "m1" });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(transport.sent).toEqual([]);
    transport.up = true;
    publications.online();
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent).toHaveLength(1);
    // A disconnect before the ack: the attempt fails, the next waits for the reconnect.
    transport.up = false;
    await transport.answer(new HubError("timeout", "socket has been disconnected"));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(transport.sent).toHaveLength(1);
    transport.up = true;
    publications.online();
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent.map((s) => s.request.id)).toEqual(["m1", "m1"]);
    await transport.answer({ duplicate: true });
    await expect(done).resolves.toMatchObject({ id: "m1", duplicate: true });
  });

  it("rejects a non-transient code at once, without retrying", async () => {
    const done = publications.publish(message);
    const failed = expect(done).rejects.toMatchObject({ name: "HubError", code: "unknown_event" });
    await vi.advanceTimersByTimeAsync(0);
    await transport.answer(new HubError("unknown_event", "no such event"));
    await failed;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transport.sent).toHaveLength(1);
  });

  it("gives up with timeout at the deadline: offline all along, or failing all along", async () => {
    transport.up = false;
    const offline = expect(publications.publish(message)).rejects.toMatchObject({
      code: "timeout",
      message: expect.stringContaining("not connected"),
    });
    await vi.advanceTimersByTimeAsync(30_000);
    await offline;

    transport.up = true;
    const failing = publications.publish(message);
    const rejected = expect(failing).rejects.toMatchObject({ code: "timeout", message: expect.stringContaining("unavailable") });
    for (let i = 0; i < 400 && transport.sent.length < 400; i++) {
      await vi.advanceTimersByTimeAsync(0);
      await transport.answer(new HubError("unavailable", "down")).catch(() => {});
      await vi.advanceTimersByTimeAsync(100);
    }
    await rejected;
    // Each attempt waits at most what is left of the deadline.
    expect(Math.min(...transport.sent.map((s) => s.timeoutMs))).toBeLessThan(10_000);
  });

  it("close() rejects waiting publications with closed and clears their timers", async () => {
    transport.up = false;
    const waiting = expect(publications.publish(message)).rejects.toMatchObject({ code: "closed" });
    await vi.advanceTimersByTimeAsync(0);
    publications.close();
    await waiting;
    expect(vi.getTimerCount()).toBe(0);
  });

  it("close() during an attempt rejects with closed, not with the attempt's failure", async () => {
    const done = expect(publications.publish(message)).rejects.toMatchObject({ code: "closed" });
    await vi.advanceTimersByTimeAsync(0);
    publications.close();
    await transport.answer(new HubError("timeout", "the connection was lost before the answer"));
    await done;
    expect(transport.sent).toHaveLength(1);
  });

  it("sendOnce: one attempt, nothing while disconnected", async () => {
    const sent = expect(publications.sendOnce({ topic: "chat:c1", event: "typing:start", data: {} })).rejects.toMatchObject({
      code: "unavailable",
    });
    await transport.answer(new HubError("unavailable", "down"));
    await sent;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transport.sent).toHaveLength(1);
    transport.up = false;
    await expect(publications.sendOnce({ topic: "chat:c1", event: "typing:start", data: {} })).rejects.toMatchObject({
      code: "unavailable",
    });
    expect(transport.sent).toHaveLength(1);
  });
});
