import type { Envelope, StreamPosition, SubscribeOk, SubscribeRequest } from "@hub/events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HubError } from "./hub-error.js";
import { TopicSubscriptions } from "./topic-subscriptions.js";
import type { SubscribeHandlers } from "./types.js";

/** A transport whose answers the test gives, one pending subscribe at a time. */
class FakeTransport {
  readonly subscribes: SubscribeRequest[] = [];
  readonly unsubscribes: string[] = [];
  readonly acks: Array<[string, StreamPosition]> = [];
  readonly #answers: Array<{ resolve(ok: SubscribeOk): void; reject(error: HubError): void }> = [];

  subscribe = (request: SubscribeRequest): Promise<SubscribeOk> => {
    this.subscribes.push(request);
    return new Promise((resolve, reject) => this.#answers.push({ resolve, reject }));
  };
  unsubscribe = (topic: string) => void this.unsubscribes.push(topic);
  ack = async (topic: string, position: StreamPosition) => void this.acks.push([topic, position]);

  /** Answers the oldest pending subscribe. */
  async answer(reply: Partial<SubscribeOk> | HubError): Promise<void> {
    const next = this.#answers.shift();
    if (!next) throw new Error("no subscribe pending");
    if (reply instanceof HubError) next.reject(reply);
    else next.resolve({ ok: true, topic: this.subscribes.at(-1)?.topic ?? "", ...reply });
    await Promise.resolve();
    await Promise.resolve();
  }
}

const envelope = (id: string, offset?: number, epoch = "e1", topic = "org:1"): Envelope => ({
  id,
  type: "roster.player_hired",
  topic,
  org_id: "1",
  data: {},
  ts: 0,
  ...(offset === undefined ? {} : { offset, epoch }),
});

function recorder(extra: Partial<SubscribeHandlers> = {}) {
  const seen: string[] = [];
  const failedRecoveries: string[] = [];
  const errors: string[] = [];
  const handlers: SubscribeHandlers = {
    onEvent: (_event, e) => void seen.push(e.id),
    onRecoveryFailed: (topic) => void failedRecoveries.push(topic),
    onError: (error) => void errors.push(error.code),
    ...extra,
  };
  return { seen, failedRecoveries, errors, handlers };
}

describe("TopicSubscriptions", () => {
  let transport: FakeTransport;
  let subs: TopicSubscriptions;
  let handlerErrors: unknown[];

  beforeEach(() => {
    transport = new FakeTransport();
    handlerErrors = [];
    subs = new TopicSubscriptions({ transport, autoAckDelayMs: 50, retryDelay: () => 100, onHandlerError: (e) => handlerErrors.push(e) });
  });
  afterEach(() => {
    subs.close();
    vi.useRealTimers();
  });

  it("subscribes when online, and resubscribes after a reconnect from the last position seen", async () => {
    const r = recorder();
    subs.add("org:1", r.handlers);
    expect(transport.subscribes).toEqual([]);
    subs.online();
    expect(transport.subscribes).toEqual([{ topic: "org:1" }]);
    await transport.answer({ epoch: "e1", offset: 4 });
    expect(subs.position("org:1")).toEqual({ offset: 4, epoch: "e1" });

    subs.deliver("roster.player_hired", envelope("a", 5));
    subs.deliver("roster.player_hired", envelope("b", 6));
    subs.offline();
    subs.online();
    expect(transport.subscribes.at(-1)).toEqual({ topic: "org:1", since: { offset: 6, epoch: "e1" } });
    // The replay arrives before the ack, whose position is where the replay ended.
    subs.deliver("roster.player_hired", envelope("c", 7));
    await transport.answer({ recovered: true, epoch: "e1", offset: 7 });
    expect(r.seen).toEqual(["a", "b", "c"]);
    expect(r.failedRecoveries).toEqual([]);
  });

  it("sends the subscription token with the subscribe and every resubscribe; a token source is asked each time", async () => {
    subs.add("chat:c1", { ...recorder().handlers, token: "grant-1" });
    let issued = 0;
    subs.add("chat:c2", { ...recorder().handlers, token: async () => `fresh-${++issued}` });
    subs.online();
    expect(transport.subscribes[0]).toEqual({ topic: "chat:c1", token: "grant-1" });
    await transport.answer({ epoch: "e1", offset: 2 });
    await vi.waitFor(() => expect(transport.subscribes).toHaveLength(2));
    expect(transport.subscribes[1]).toEqual({ topic: "chat:c2", token: "fresh-1" });
    await transport.answer({ epoch: "e2", offset: 0 });
    expect(await subs.token("chat:c1")).toBe("grant-1");

    subs.deliver("message:new", envelope("m3", 3, "e1", "chat:c1"));
    subs.offline();
    subs.online();
    expect(transport.subscribes[2]).toEqual({ topic: "chat:c1", since: { offset: 3, epoch: "e1" }, token: "grant-1" });
    await vi.waitFor(() => expect(transport.subscribes).toHaveLength(4));
    expect(transport.subscribes[3]).toEqual({ topic: "chat:c2", since: { offset: 0, epoch: "e2" }, token: "fresh-2" });
  });

  it("an ack that lags behind live events does not move the position back", async () => {
    subs.add("org:1", recorder().handlers);
    subs.online();
    subs.deliver("roster.player_hired", envelope("a", 10));
    await transport.answer({ epoch: "e1", offset: 9 });
    expect(subs.position("org:1")).toEqual({ offset: 10, epoch: "e1" });
  });

  it("recovered: false calls onRecoveryFailed and takes the new epoch's position", async () => {
    const r = recorder();
    subs.add("org:1", r.handlers);
    subs.online();
    await transport.answer({ epoch: "e1", offset: 3 });
    subs.offline();
    subs.online();
    await transport.answer({ recovered: false, epoch: "e2", offset: 0 });
    expect(r.failedRecoveries).toEqual(["org:1"]);
    expect(subs.position("org:1")).toEqual({ offset: 0, epoch: "e2" });
  });

  it("drops repeats by topic and id, but delivers the same id on another topic", async () => {
    const one = recorder();
    const two = recorder();
    subs.add("staff:1:teams", one.handlers);
    subs.add("staff:1:team:t", two.handlers);
    subs.online();
    for (const topic of ["staff:1:teams", "staff:1:team:t", "staff:1:teams"]) {
      subs.deliver("staff.team.updated", envelope("x", undefined, "e1", topic));
    }
    expect(one.seen).toEqual(["x"]);
    expect(two.seen).toEqual(["x"]);
  });

  it("ignores events of topics nobody subscribed and non-envelopes", () => {
    const r = recorder();
    subs.add("org:1", r.handlers);
    subs.online();
    subs.deliver("roster.player_hired", envelope("a", 1, "e1", "org:2"));
    subs.deliver("error", { code: "bad_request", message: "x" });
    subs.deliver("roster.player_hired", "nope");
    expect(r.seen).toEqual([]);
  });

  it("several subscribers share one server subscription; the last one out unsubscribes", async () => {
    const a = recorder();
    const b = recorder();
    subs.online();
    const offA = subs.add("org:1", a.handlers);
    const offB = subs.add("org:1", b.handlers);
    await transport.answer({ epoch: "e1", offset: 0 });
    expect(transport.subscribes).toHaveLength(1);
    subs.deliver("roster.player_hired", envelope("a", 1));
    offA();
    offA();
    expect(transport.unsubscribes).toEqual([]);
    subs.deliver("roster.player_hired", envelope("b", 2));
    offB();
    expect(transport.unsubscribes).toEqual(["org:1"]);
    expect(subs.position("org:1")).toBeUndefined();
    expect(a.seen).toEqual(["a"]);
    expect(b.seen).toEqual(["a", "b"]);
  });

  it("a late subscriber of a confirmed topic is told it is subscribed", async () => {
    subs.online();
    subs.add("org:1", recorder().handlers);
    await transport.answer({ epoch: "e1", offset: 2 });
    const told = vi.fn();
    subs.add("org:1", { onEvent: () => {}, onSubscribed: told });
    await Promise.resolve();
    expect(told).toHaveBeenCalledWith({ topic: "org:1", position: { offset: 2, epoch: "e1" } });
  });

  it("autoAck sends one cumulative ack per burst, and none from an event whose handler threw on", async () => {
    vi.useFakeTimers();
    const r = recorder({ autoAck: true });
    subs.add("notifications:u1", r.handlers);
    subs.online();
    for (let offset = 1; offset <= 5; offset++)
      subs.deliver("notification.created", envelope(`n${offset}`, offset, "e1", "notifications:u1"));
    await vi.advanceTimersByTimeAsync(50);
    expect(transport.acks).toEqual([["notifications:u1", { offset: 5, epoch: "e1" }]]);

    const offThrower = subs.add("notifications:u1", {
      onEvent: () => {
        throw new Error("boom");
      },
    });
    subs.deliver("notification.created", envelope("n6", 6, "e1", "notifications:u1"));
    expect(handlerErrors).toEqual([new Error("boom")]);
    offThrower();
    // A later ack would acknowledge n6 too (acks are cumulative): none goes out any more.
    subs.deliver("notification.created", envelope("n7", 7, "e1", "notifications:u1"));
    await vi.advanceTimersByTimeAsync(50);
    expect(transport.acks).toHaveLength(1);
    expect(r.seen).toEqual(["n1", "n2", "n3", "n4", "n5", "n6", "n7"]);
  });

  it("autoAck waits for asynchronous handlers, in order, and stops at one that rejects", async () => {
    vi.useFakeTimers();
    const finish = new Map<string, { resolve(): void; reject(error: Error): void }>();
    subs.add("notifications:u1", {
      autoAck: true,
      onEvent: (_event, e) => new Promise<void>((resolve, reject) => finish.set(e.id, { resolve, reject })),
    });
    subs.online();
    for (let offset = 1; offset <= 3; offset++)
      subs.deliver("notification.created", envelope(`n${offset}`, offset, "e1", "notifications:u1"));
    finish.get("n2")?.resolve();
    await vi.advanceTimersByTimeAsync(50);
    // n1 is still running: nothing may be acknowledged yet, n2 included.
    expect(transport.acks).toEqual([]);
    finish.get("n1")?.resolve();
    await vi.advanceTimersByTimeAsync(50);
    expect(transport.acks).toEqual([["notifications:u1", { offset: 2, epoch: "e1" }]]);
    finish.get("n3")?.reject(new Error("later"));
    subs.deliver("notification.created", envelope("n4", 4, "e1", "notifications:u1"));
    finish.get("n4")?.resolve();
    await vi.advanceTimersByTimeAsync(50);
    expect(transport.acks).toHaveLength(1);
    expect(handlerErrors).toEqual([new Error("later")]);
  });

  it("a refused subscribe is reported and dropped; a transient failure is retried", async () => {
    vi.useFakeTimers();
    const refused = recorder();
    subs.online();
    subs.add("org:2", refused.handlers);
    await transport.answer(new HubError("forbidden", "not yours"));
    expect(refused.errors).toEqual(["forbidden"]);
    expect(subs.topics()).toEqual([]);

    const retried = recorder();
    subs.add("org:1", retried.handlers);
    await transport.answer(new HubError("unavailable", "redis down"));
    expect(retried.errors).toEqual(["unavailable"]);
    expect(transport.subscribes).toHaveLength(2);
    vi.advanceTimersByTime(100);
    expect(transport.subscribes).toHaveLength(3);
    await transport.answer({ epoch: "e1", offset: 0 });
    expect(subs.topics()).toEqual(["org:1"]);
  });

  it("an answer from before a reconnect changes nothing", async () => {
    const r = recorder();
    subs.add("org:1", r.handlers);
    subs.online();
    subs.offline();
    subs.online();
    await transport.answer({ recovered: false, epoch: "old", offset: 50 });
    expect(subs.position("org:1")).toBeUndefined();
    expect(r.failedRecoveries).toEqual([]);
  });
});
