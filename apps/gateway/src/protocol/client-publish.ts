import {
  checkJsonLimits,
  type Envelope,
  ProtocolError,
  type PublishOk,
  type RequestOf,
  type ResolvedClientEvent,
  type TopicRegistry,
  type UserPrincipal,
  uuidv7,
} from "@hub/events";
import type { EventSink } from "@hub/store";
import type { Server } from "socket.io";
import type { TopicGrants } from "../auth/topic-grants.js";
import { PUBLICATION_COST, type PublishRate } from "../protection/publish-rate.js";
import type { HubServer, HubSocket } from "./hub-socket.js";
import { roomFor } from "./topic-room.js";

/** Deepest nesting of objects and arrays a publication's `data` may have (itself being level 1). */
const MAX_DATA_DEPTH = 16;

/** How a publication ended, for metrics: `delivered`, `duplicate`, or the code it was refused with. */
export type PublicationOutcome = "delivered" | "duplicate" | string;

export interface ClientPublishContext {
  io: HubServer;
  registry: TopicRegistry;
  grants: TopicGrants;
  rate: PublishRate;
  sink: EventSink;
  /** Whether Redis answers (durable publications need it). */
  available(): boolean;
  /** Told about each durable publication delivered (not a duplicate), with its room and the client event it went out as. */
  onDelivered?(room: string, envelope: Envelope, clientEvent: string): void;
  /** Told about each publication on a declared namespace (`unknown`: of an event it does not declare). */
  onPublication(namespace: string, kind: ResolvedClientEvent["kind"] | "unknown", outcome: PublicationOutcome): void;
}

/**
 * The room holding a user's sockets on this node, joined by each socket that subscribes to a
 * namespace with ephemeral client events: an ephemeral publication is broadcast except to it, so
 * the sender's own sockets (every tab, on every gateway) do not get it. `~` starts no topic, and
 * the engines never subscribe to such a room's channel: it is node-local (nothing is broadcast to it).
 */
export function userRoom(user: UserPrincipal): string {
  return `~user\n${user.orgId}\n${user.userId}`;
}

/** Puts a user's socket in its user's room (once): its ephemeral publications skip it. */
export function joinUserRoom(socket: HubSocket, user: UserPrincipal): void {
  if (socket.data.inUserRoom) return;
  socket.data.inUserRoom = true;
  void socket.join(userRoom(user));
}

/** Whether a room is node-local (a user's room), not a topic's. */
export function isLocalRoom(room: string): boolean {
  return room.startsWith("~");
}

/**
 * Handles `publish { topic, event, data, id?, token? }` (docs/protocol.md "Client publications"):
 * the topic and the event must be declared (`invalid_topic`, `unknown_namespace`, `unknown_event`),
 * `data` an object of the event's schema and size (`invalid_event`, `payload_too_large`), the user
 * allowed (`forbidden`, and a grant on `grant` namespaces) and within their rate (`rate_limited`,
 * with `retry_after_ms`). The hub sets `sender_id` and `sender_org_id`; a durable publication is
 * acknowledged once it is in the topic's history, broadcast and in its client-event stream.
 */
export async function publish(socket: HubSocket, request: RequestOf<"publish">, context: ClientPublishContext): Promise<PublishOk> {
  const principal = socket.data.principal;
  const parsed = context.registry.parse(request.topic);
  const namespace = parsed.namespace;
  const spec = namespace.clientEvents.get(request.event);
  if (!spec) {
    context.onPublication(namespace.name, "unknown", "unknown_event");
    throw new ProtocolError("unknown_event", `${namespace.name} topics take no client event "${request.event.slice(0, 64)}"`);
  }
  try {
    if (principal.kind !== "user") {
      throw new ProtocolError("forbidden", "client publications are made by users; services publish with the emitter or the HTTP API");
    }
    // Cheap checks first; the schema runs once the user is known to be allowed there. Nothing
    // refused is charged to the user's rate.
    checkShape(request.data, spec);
    context.registry.authorize(principal, parsed, "publish");
    // The rate and a durable publication's step are in Redis: refuse at once rather than wait for it.
    if (!context.available()) throw new ProtocolError("unavailable", "Redis is unreachable; publish again with the same id");
    if (context.registry.needsGrant(principal, parsed)) await context.grants.check(principal, parsed.topic, "publish", request.token);
    const issues = spec.issues(request.data);
    if (issues.length > 0) throw new ProtocolError("invalid_event", `${spec.name}: ${issues.join("; ")}`);
    const decision = await context.rate.take(principal.orgId, principal.userId, PUBLICATION_COST[spec.kind]);
    if (!decision.allowed) {
      throw new ProtocolError("rate_limited", `too many publications; retry in ${decision.retryAfterMs} ms`, decision.retryAfterMs);
    }

    const id = request.id ?? uuidv7();
    const room = roomFor(principal, parsed, undefined);
    const envelope: Envelope = {
      id,
      type: spec.deliverAs,
      topic: parsed.topic,
      org_id: principal.orgId,
      data: request.data,
      ts: Date.now(),
      sender_id: principal.userId,
      sender_org_id: principal.orgId,
    };
    if (spec.kind === "ephemeral") {
      // Declared names (`typing:start`) are not all in the typed server's event map.
      (context.io as unknown as Server).to(room).except(userRoom(principal)).emit(spec.deliverAs, envelope);
      context.onPublication(namespace.name, spec.kind, "delivered");
      return { ok: true, id };
    }
    const history = namespace.history;
    if (!history) throw new Error(`namespace ${namespace.name} has durable client events and no history`);
    const result = await context.sink.deliverClient(
      { orgId: principal.orgId, id },
      { room, clientEvent: spec.deliverAs, envelope, history },
    );
    if (result.outcome === "conflict") {
      throw new ProtocolError("id_conflict", `id ${id} was used on ${parsed.topic} by another sender within 5 minutes; use a fresh one`);
    }
    context.onPublication(namespace.name, spec.kind, result.outcome);
    if (result.outcome === "delivered") context.onDelivered?.(room, envelope, spec.deliverAs);
    return {
      ok: true,
      id,
      ...(result.offset === undefined ? {} : { offset: result.offset, epoch: result.epoch as string }),
      ...(result.outcome === "duplicate" ? { duplicate: true } : {}),
    };
  } catch (error) {
    if (error instanceof ProtocolError) context.onPublication(namespace.name, spec.kind, error.code);
    throw error;
  }
}

/** `data` is a JSON object within the event's size and nesting (its schema is checked later). */
function checkShape(data: unknown, spec: ResolvedClientEvent): void {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ProtocolError("invalid_event", `${spec.name}: data must be an object`);
  }
  const breach = checkJsonLimits(data, { maxBytes: spec.maxBytes, maxDepth: MAX_DATA_DEPTH });
  if (breach === "size") throw new ProtocolError("payload_too_large", `${spec.name}: data is larger than ${spec.maxBytes} bytes of JSON`);
  if (breach === "depth") throw new ProtocolError("invalid_event", `${spec.name}: data is nested deeper than ${MAX_DATA_DEPTH} levels`);
}
