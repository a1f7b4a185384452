import type { Envelope } from "@hub/events";
import { describe, expect, it, vi } from "vitest";
import { Calls, type CallsTransport } from "./calls.js";
import { HubError } from "./hub-error.js";
import { Retrier } from "./retrier.js";
import type { SubscribeHandlers } from "./types.js";

function fakeTransport(userId: string | undefined) {
  const subscribed = new Map<string, SubscribeHandlers>();
  const unsubscribed: string[] = [];
  const request = vi.fn(async (_event: string, payload: Record<string, unknown>) => ({ ok: true, call_id: payload.call_id }));
  let me = userId;
  const transport = {
    request,
    subscribe: (topic: string, handlers: SubscribeHandlers) => {
      subscribed.set(topic, handlers);
      return () => {
        subscribed.delete(topic);
        unsubscribed.push(topic);
      };
    },
    userId: () => me,
    onError: vi.fn(),
  };
  return { transport: transport as unknown as CallsTransport, request, subscribed, unsubscribed, setUser: (id: string) => (me = id) };
}

const envelope = (event: string, data: Record<string, unknown>): Envelope =>
  ({ id: `e-${Math.random()}`, topic: "webrtc:ann", type: event, data, ts: 1 }) as Envelope;

describe("Calls", () => {
  it("subscribes the user's webrtc topic once for all listeners, dispatches by name, and unsubscribes after the last", () => {
    const { transport, subscribed, unsubscribed } = fakeTransport("ann");
    const calls = new Calls(transport, new Retrier());
    const incoming = vi.fn();
    const candidates = vi.fn();
    const offIncoming = calls.on("incoming", incoming);
    const offCandidates = calls.on("ice-candidate", candidates);
    expect([...subscribed.keys()]).toEqual(["webrtc:ann"]);

    const handlers = subscribed.get("webrtc:ann") as SubscribeHandlers;
    const ring = envelope("call:incoming", { call_id: "c1", from: "bob", media: "audio" });
    handlers.onEvent("call:incoming", ring as never);
    handlers.onEvent("webrtc:ice-candidate", envelope("webrtc:ice-candidate", { call_id: "c1", candidate: { n: 1 } }) as never);
    handlers.onEvent("message:new", envelope("message:new", { text: "not a call event" }) as never);
    expect(incoming).toHaveBeenCalledWith(ring.data, ring);
    expect(candidates).toHaveBeenCalledWith({ call_id: "c1", candidate: { n: 1 } }, expect.anything());

    offIncoming();
    offIncoming();
    expect(unsubscribed).toEqual([]);
    offCandidates();
    expect(unsubscribed).toEqual(["webrtc:ann"]);
  });

  it("waits for the user id (a token source before the first handshake) and subscribes once it is known", () => {
    const { transport, subscribed, setUser } = fakeTransport(undefined);
    const calls = new Calls(transport, new Retrier());
    calls.on("answered", () => {});
    expect(subscribed.size).toBe(0);
    setUser("ann");
    calls.online();
    calls.online();
    expect([...subscribed.keys()]).toEqual(["webrtc:ann"]);
  });

  it("retries initiate after a lost answer with the same call id, and maps the reply", async () => {
    const { transport, request } = fakeTransport("ann");
    request.mockRejectedValueOnce(new HubError("timeout", "lost")).mockResolvedValueOnce({ ok: true, call_id: "x", busy: true } as never);
    const calls = new Calls(transport, new Retrier({ retryDelay: () => 1 }));
    await expect(calls.initiate("bob", { media: "video", callId: "x" })).resolves.toEqual({ callId: "x", busy: true });
    expect(request.mock.calls).toEqual([
      ["call:initiate", { to: "bob", media: "video", call_id: "x" }],
      ["call:initiate", { to: "bob", media: "video", call_id: "x" }],
    ]);
    // Without a call id one is picked once, and kept by the retry.
    request.mockRejectedValueOnce(new HubError("unavailable", "redis down"));
    const { callId } = await calls.initiate("bob", { media: "audio" });
    const [, [, first], [, second]] = request.mock.calls.slice(1) as [
      unknown,
      [string, { call_id: string }],
      [string, { call_id: string }],
    ];
    expect(first.call_id).toBe(callId);
    expect(second.call_id).toBe(callId);
  });

  it("sends each request with its payload; a refusal rejects with the hub's code, unretried", async () => {
    const { transport, request } = fakeTransport("ann");
    const calls = new Calls(transport, new Retrier({ retryDelay: () => 1 }));
    await calls.answer("c1");
    await calls.toggleVideo("c1", false);
    await calls.signal.offer("c1", { type: "offer", sdp: "v=0" });
    await calls.signal.iceCandidate("c1", { candidate: "a" });
    expect(request.mock.calls).toEqual([
      ["call:answer", { call_id: "c1" }],
      ["call:toggle-video", { call_id: "c1", enabled: false }],
      ["webrtc:offer", { call_id: "c1", sdp: { type: "offer", sdp: "v=0" } }],
      ["webrtc:ice-candidate", { call_id: "c1", candidate: { candidate: "a" } }],
    ]);
    request.mockRejectedValueOnce(new HubError("call_in_progress", "busy yourself"));
    await expect(calls.initiate("bob", { media: "audio" })).rejects.toMatchObject({ code: "call_in_progress" });
    expect(request).toHaveBeenCalledTimes(5);
  });
});
