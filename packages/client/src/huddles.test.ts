import { describe, expect, it, vi } from "vitest";
import { HubError } from "./hub-error.js";
import { Huddles, type HuddlesTransport } from "./huddles.js";
import { Retrier } from "./retrier.js";
import type { SubscribeHandlers } from "./types.js";

function fakeTransport() {
  const subscribed = new Map<string, SubscribeHandlers>();
  const unsubscribed: string[] = [];
  let connection = 1;
  const request = vi.fn(async (event: string, payload: { huddle_id?: string }) =>
    event === "huddle:join" ? { ok: true, huddle_id: payload.huddle_id, participants: [] } : { ok: true, huddle_id: payload.huddle_id },
  );
  const onError = vi.fn();
  const transport = {
    request,
    subscribe: (topic: string, handlers: SubscribeHandlers) => {
      subscribed.set(topic, handlers);
      return () => {
        subscribed.delete(topic);
        unsubscribed.push(topic);
      };
    },
    userId: () => "ann",
    onError,
    connection: () => connection,
  };
  const joins = () => request.mock.calls.filter(([event]) => event === "huddle:join").length;
  return {
    transport: transport as unknown as HuddlesTransport,
    request,
    subscribed,
    unsubscribed,
    onError,
    joins,
    reconnect: () => connection++,
  };
}

/** Lets the promise chains of a rejoin settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("Huddles rejoin bookkeeping", () => {
  it("follows a joined huddle's topic, and joins again only after a resubscribe on a new connection", async () => {
    const { transport, subscribed, joins, reconnect } = fakeTransport();
    const huddles = new Huddles(transport, new Retrier({ retryDelay: () => 1 }));
    await huddles.join("h1");
    expect(huddles.joined()).toEqual(["h1"]);
    const topic = subscribed.get("huddle:h1") as SubscribeHandlers;
    // The first confirmation, on the connection the join went out on: nothing to do.
    topic.onSubscribed?.({ topic: "huddle:h1" });
    await settle();
    expect(joins()).toBe(1);

    reconnect();
    topic.onSubscribed?.({ topic: "huddle:h1", recovered: true });
    topic.onSubscribed?.({ topic: "huddle:h1", recovered: true }); // a second confirmation while the rejoin is out
    await settle();
    expect(joins()).toBe(2);
    topic.onSubscribed?.({ topic: "huddle:h1" });
    await settle();
    expect(joins()).toBe(2);
  });

  it("retries a rejoin through transient failures; one refused for good forgets the huddle and reports it", async () => {
    const { transport, request, subscribed, unsubscribed, onError, joins, reconnect } = fakeTransport();
    const huddles = new Huddles(transport, new Retrier({ retryDelay: () => 1 }));
    await huddles.join("h1");
    reconnect();
    request.mockRejectedValueOnce(new HubError("unavailable", "redis down"));
    subscribed.get("huddle:h1")?.onSubscribed?.({ topic: "huddle:h1" });
    await settle();
    expect(joins()).toBe(3);
    expect(huddles.joined()).toEqual(["h1"]);

    reconnect();
    request.mockRejectedValueOnce(new HubError("not_found", "the huddle ended"));
    subscribed.get("huddle:h1")?.onSubscribed?.({ topic: "huddle:h1" });
    await settle();
    expect(huddles.joined()).toEqual([]);
    expect(unsubscribed).toEqual(["huddle:h1"]);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: "not_found", message: expect.stringContaining("h1") }));
  });

  it("forgets a huddle on leave, on huddle:ended, and when its resubscribe is refused", async () => {
    const { transport, subscribed, unsubscribed, onError } = fakeTransport();
    const huddles = new Huddles(transport, new Retrier());
    const ended = vi.fn();
    huddles.on("huddle:ended", ended);
    await Promise.all(["h1", "h2", "h3"].map((id) => huddles.join(id)));
    await huddles.leave("h1");
    expect(unsubscribed).toEqual(["huddle:h1"]);

    const envelope = { id: "e1", topic: "huddle:h2", type: "huddle:ended", data: { huddle_id: "h2" }, ts: 1 };
    subscribed.get("huddle:h2")?.onEvent("huddle:ended", envelope as never);
    expect(ended).toHaveBeenCalledWith({ huddle_id: "h2" }, envelope);
    expect(huddles.joined()).toEqual(["h3"]);

    subscribed.get("huddle:h3")?.onError?.(new HubError("forbidden", "not a participant"));
    expect(huddles.joined()).toEqual([]);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: "forbidden" }));
  });

  it("subscribes the notifications topic only while someone listens to huddle:invited", () => {
    const { transport, subscribed } = fakeTransport();
    const huddles = new Huddles(transport, new Retrier());
    const offMessages = huddles.on("huddle:message:new", () => {});
    expect(subscribed.size).toBe(0);
    const invited = vi.fn();
    const off = huddles.on("huddle:invited", invited);
    const data = { huddle_id: "h1", conversation_id: "c1", by: "bob" };
    subscribed
      .get("notifications:ann")
      ?.onEvent("huddle:invited", { id: "i1", topic: "notifications:ann", type: "huddle:invited", data, ts: 1 } as never);
    expect(invited).toHaveBeenCalledWith(data, expect.anything());
    off();
    offMessages();
    expect(subscribed.size).toBe(0);
  });
});
