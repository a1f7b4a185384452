import {
  type ParsedTopic,
  ProtocolError,
  type RequestOf,
  type SubscribeOk,
  type TopicRegistry,
  type UnsubscribeOk,
  type UserPrincipal,
} from "@hub/events";
import type { HistoryQuery } from "@hub/store";
import type { TopicGrants } from "../auth/topic-grants.js";
import { type CatchUpContext, catchUp, currentPosition, joinLive } from "./catch-up.js";
import type { HubSocket, Joining } from "./hub-socket.js";
import { roomFor } from "./topic-room.js";

export interface SubscriptionLimits {
  maxSubscriptionsPerSocket: number;
}

export interface SubscriptionContext extends CatchUpContext {
  registry: TopicRegistry;
  /** Grants on topics of `authorize: "grant"` namespaces. */
  grants: TopicGrants;
  /** Membership of topics of `authorize: "member"` namespaces (a huddle's participants): throws `forbidden`. */
  members(user: UserPrincipal, topic: ParsedTopic): Promise<void>;
  limits: SubscriptionLimits;
  /** Called once the socket is in the topic's room (not again for a repeated subscribe). */
  onJoined(socket: HubSocket, topic: ParsedTopic, room: string): void;
  /** Called once the socket left a topic's room it was in. */
  onLeft(socket: HubSocket, room: string): void;
}

/**
 * Handles `subscribe`: parses the topic, authorizes against the registry (and, on a namespace with
 * `authorize: "grant"`, checks the user's grant) and joins the topic's room.
 * On a topic with history it first replays what the client missed (`since`), or, on the user's own
 * topic, what the user has not acknowledged; the ack carries the position reached.
 */
export async function subscribe(socket: HubSocket, request: RequestOf<"subscribe">, context: SubscriptionContext): Promise<SubscribeOk> {
  const { topic, since, org_id, token } = request;
  if (!socket.data.subscribeBucket.take()) {
    throw new ProtocolError("rate_limited", "too many subscribe requests; slow down");
  }
  const parsed = context.registry.parse(topic);
  const principal = socket.data.principal;
  context.registry.authorize(principal, parsed);
  if (context.registry.needsGrant(principal, parsed))
    await context.grants.check(principal as UserPrincipal, parsed.topic, "subscribe", token);
  if (principal.kind === "user" && parsed.namespace.authorize === "member") await context.members(principal, parsed);
  const room = roomFor(socket.data.principal, parsed, org_id);
  const pending = socket.data.joining?.get(room);
  if (pending && !pending.cancelled) return pending.result;

  const policy = parsed.namespace.history;
  if (socket.rooms.has(room)) {
    if (!policy) return noHistory(parsed.topic, since !== undefined);
    return { ok: true, topic: parsed.topic, ...(await currentPosition(room, policy, context)) };
  }
  // socket.rooms also holds the socket's own id room, and maybe its user's node-local one.
  const own = socket.data.inUserRoom ? 2 : 1;
  if (socket.rooms.size - own + (socket.data.joining?.size ?? 0) >= context.limits.maxSubscriptionsPerSocket) {
    throw new ProtocolError("too_many_subscriptions", `at most ${context.limits.maxSubscriptionsPerSocket} subscriptions per connection`);
  }
  if (!policy) {
    await joinLive(socket, room, context);
    context.onJoined(socket, parsed, room);
    return noHistory(parsed.topic, since !== undefined);
  }

  const query: HistoryQuery = { ...(since ? { since } : {}), fromCursor: ownTopic(socket, parsed) };
  const state = { cancelled: false };
  const result = catchUp(socket, { topic: parsed.topic, room }, policy, query, context, state).finally(() => {
    // A cancelled catch-up may have been replaced by a newer subscribe: leave that one alone.
    if (socket.data.joining?.get(room) === joining) forgetJoining(socket, room);
  });
  const joining: Joining = Object.assign(state, { result });
  // Made on first use: most connections never have a catch-up in flight.
  socket.data.joining ??= new Map();
  socket.data.joining.set(room, joining);
  const ok = await joining.result;
  if (socket.rooms.has(room)) context.onJoined(socket, parsed, room);
  return ok;
}

/** Handles `unsubscribe`: leaving a topic one is not in succeeds too. */
export async function unsubscribe(
  socket: HubSocket,
  request: RequestOf<"unsubscribe">,
  context: Pick<SubscriptionContext, "onLeft" | "registry">,
): Promise<UnsubscribeOk> {
  const { topic, org_id } = request;
  // The socket's own room is no topic: leaving it would cut the socket off from what is sent to it.
  if (topic === socket.id) throw new ProtocolError("bad_request", "unsubscribe takes { topic: string }");
  const room = unsubscribeRoom(socket, topic, org_id, context.registry);
  const pending = socket.data.joining?.get(room);
  if (pending) {
    pending.cancelled = true;
    forgetJoining(socket, room);
  }
  if (socket.rooms.has(room)) {
    await socket.leave(room);
    context.onLeft(socket, room);
  }
  return { ok: true, topic };
}

/** The room an unsubscribe leaves: leaving a topic that does not parse (so was never joined) succeeds too. */
function unsubscribeRoom(socket: HubSocket, topic: string, orgId: unknown, registry: TopicRegistry): string {
  let parsed: ParsedTopic;
  try {
    parsed = registry.parse(topic);
  } catch {
    return topic;
  }
  return roomFor(socket.data.principal, parsed, orgId);
}

/**
 * The ack on a topic without history: the contract's ack always carries `epoch` and `offset`; here
 * they are `""` and `0`, a position nothing can be recovered from (no event on such a topic carries
 * an `offset`); with `since`, `recovered: false`, since nothing can be replayed. The client SDK keeps
 * no position for an empty epoch, so it never sends `since` for such a topic.
 */
function noHistory(topic: string, since: boolean): SubscribeOk {
  return { ok: true, topic, ...(since ? { recovered: false } : {}), epoch: "", offset: 0 };
}

/** Store-and-forward applies to a user's own topic of a user-scoped namespace (`notifications:{sub}`). */
function ownTopic(socket: HubSocket, topic: ParsedTopic): boolean {
  const principal = socket.data.principal;
  return principal.kind === "user" && topic.namespace.scope === "user" && topic.owner === principal.userId;
}

/** Drops the room's catch-up, and the map once empty (an idle connection keeps none). */
function forgetJoining(socket: HubSocket, room: string): void {
  socket.data.joining?.delete(room);
  if (socket.data.joining?.size === 0) socket.data.joining = undefined;
}
