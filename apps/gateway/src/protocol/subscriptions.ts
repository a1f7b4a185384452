import { ProtocolError, type SubscribeOk, type TopicRegistry, type UnsubscribeOk } from "@hub/events";
import type { HubSocket } from "./hub-socket.js";

export interface SubscriptionLimits {
  maxSubscriptionsPerSocket: number;
}

/** Handles `subscribe`: validates, authorizes against the registry and joins the topic's room. */
export async function subscribe(
  socket: HubSocket,
  request: unknown,
  registry: TopicRegistry,
  limits: SubscriptionLimits,
): Promise<SubscribeOk> {
  const { topic, since } = readRequest(request);
  if (since !== undefined) readSince(since);
  if (!socket.data.subscribeBucket.take()) {
    throw new ProtocolError("rate_limited", "too many subscribe requests; slow down");
  }
  const parsed = registry.parse(topic);
  registry.authorize(socket.data.principal, parsed);
  // socket.rooms also holds the socket's own id room.
  if (!socket.rooms.has(parsed.topic) && socket.rooms.size - 1 >= limits.maxSubscriptionsPerSocket) {
    throw new ProtocolError("too_many_subscriptions", `at most ${limits.maxSubscriptionsPerSocket} subscriptions per connection`);
  }
  await socket.join(parsed.topic);
  return { ok: true, topic: parsed.topic };
}

/** Handles `unsubscribe`: leaving a topic one is not in succeeds too. */
export async function unsubscribe(socket: HubSocket, request: unknown): Promise<UnsubscribeOk> {
  const { topic } = readRequest(request);
  if (typeof topic !== "string" || topic.length === 0 || topic === socket.id) {
    throw new ProtocolError("bad_request", "unsubscribe takes { topic: string }");
  }
  await socket.leave(topic);
  return { ok: true, topic };
}

function readRequest(request: unknown): { topic: unknown; since: unknown } {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    throw new ProtocolError("bad_request", "expected an object like { topic }");
  }
  const { topic, since } = request as Record<string, unknown>;
  if (typeof topic !== "string") throw new ProtocolError("bad_request", "topic must be a string");
  return { topic, since };
}

function readSince(since: unknown): void {
  if (typeof since !== "object" || since === null) throw new ProtocolError("bad_request", "since must be { offset, epoch }");
  const { offset, epoch } = since as Record<string, unknown>;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || typeof epoch !== "string") {
    throw new ProtocolError("bad_request", "since must be { offset: non-negative integer, epoch: string }");
  }
}
