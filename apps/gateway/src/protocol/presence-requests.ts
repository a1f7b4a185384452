import {
  type ParsedTopic,
  type PresenceOk,
  type PresenceUpdateOk,
  ProtocolError,
  type ProtocolErrorCode,
  type RequestOf,
  type TopicRegistry,
} from "@hub/events";
import type { Logger } from "pino";
import type { Presence, PresenceEntry } from "../presence/presence.js";
import type { HubSocket } from "./hub-socket.js";
import { PresentEntries } from "./present-entries.js";
import { roomFor } from "./topic-room.js";

export interface PresenceTrackingOptions {
  presence: Presence;
  registry: TopicRegistry;
  logger: Logger;
  /** Counts each `presence.update`: `updated`, `unchanged`, or the code it was refused with. */
  onUpdate?: (outcome: "updated" | "unchanged" | ProtocolErrorCode) => void;
}

/** The largest `presence.update` metadata, serialized (UTF-8 bytes). */
export const MAX_PRESENCE_META_BYTES = 1024;

/** The gateway's side of presence: which sockets count as present where, and the `presence` request. */
export interface PresenceTracking {
  /**
   * Call once the socket is in the topic's room. Records it when the namespace tracks presence and
   * the socket is a user's (services are never present). Failures are logged, never thrown.
   */
  joined(socket: HubSocket, topic: ParsedTopic, room: string): void;
  /** Call once the socket left a topic's room it was in. Failures are logged, never thrown. */
  left(socket: HubSocket, room: string): void;
  /** Handles `presence { topic }`: who is on it, cluster-wide. Authorized like `subscribe`. */
  request(socket: HubSocket, request: RequestOf<"presence">): Promise<PresenceOk>;
  /**
   * Handles `presence.update { topic, meta }`: sets the socket's metadata on a topic it is present
   * on (subscribed, as a user, in a namespace with presence).
   */
  update(socket: HubSocket, request: RequestOf<"presence.update">): Promise<PresenceUpdateOk>;
  /** Makes the socket leave every topic it is present on when it disconnects. */
  watch(socket: HubSocket): void;
}

/**
 * Connects sockets to presence.
 *
 * @example
 * const tracking = trackPresence({ presence: engine.stores.presence(io, nodeId, names), registry, logger });
 * io.on("connection", (socket) => tracking.watch(socket));
 */
export function trackPresence({ presence, registry, logger, onUpdate }: PresenceTrackingOptions): PresenceTracking {
  /** The presence entries of each connected socket that is present somewhere; absent once it disconnects. */
  const present = new PresentEntries();
  /** Each entry's join while it is being recorded: an update waits for it. */
  const joins = new WeakMap<PresenceEntry, Promise<void>>();

  const warnOnFailure = (promise: Promise<void>, entry: PresenceEntry, action: string) =>
    promise.catch((error: unknown) =>
      logger.warn({ err: error, org_id: entry.orgId, topic: entry.topic, socket: entry.connectionId }, `presence ${action} failed`),
    );

  async function updateMeta(socket: HubSocket, { topic, meta }: RequestOf<"presence.update">): Promise<PresenceUpdateOk> {
    const principal = socket.data.principal;
    const parsed = registry.parse(topic);
    if (!parsed.namespace.presence) {
      throw new ProtocolError("bad_request", `namespace "${parsed.namespace.name}" does not track presence`);
    }
    if (principal.kind !== "user") throw new ProtocolError("forbidden", "only a user's connection is present on topics");
    const json = JSON.stringify(meta);
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_PRESENCE_META_BYTES) {
      throw new ProtocolError("payload_too_large", `presence metadata is ${bytes} bytes serialized; at most ${MAX_PRESENCE_META_BYTES}`);
    }
    const entry = present.get(socket, roomFor(principal, parsed, undefined));
    if (!entry)
      throw new ProtocolError(
        "forbidden",
        `subscribe to ${parsed.topic} first: a connection has presence metadata only where it is present`,
      );
    await joins.get(entry);
    const outcome = await presence.update(entry, json);
    if (outcome === "absent") throw new ProtocolError("unavailable", "this connection's presence is being recorded again; retry shortly");
    return { ok: true, topic: parsed.topic, changed: outcome === "updated" };
  }

  return {
    joined(socket, topic, room) {
      const principal = socket.data.principal;
      // A socket that is going away (`disconnecting` ran) must not be recorded again.
      if (!topic.namespace.presence || principal.kind !== "user" || !socket.connected) return;
      if (present.get(socket, room)) return;
      const entry: PresenceEntry = { topic: room, userId: principal.userId, orgId: principal.orgId, connectionId: socket.id };
      present.add(socket, entry);
      const joined = warnOnFailure(presence.join(entry), entry, "join");
      joins.set(entry, joined);
      // Settled, it has nothing left to wait for: not kept per connection.
      void joined.then(() => joins.delete(entry));
    },
    left(socket, room) {
      const entry = present.remove(socket, room);
      if (!entry) return;
      void warnOnFailure(presence.leave(entry), entry, "leave");
    },
    async request(socket, { topic, org_id }) {
      const parsed = registry.parse(topic);
      registry.authorize(socket.data.principal, parsed);
      if (!parsed.namespace.presence) {
        throw new ProtocolError("bad_request", `namespace "${parsed.namespace.name}" does not track presence`);
      }
      const room = roomFor(socket.data.principal, parsed, org_id);
      // Who is in a conversation is the conversation's: a user asks only about one they are subscribed to (with its grant).
      const membersOnly =
        registry.needsGrant(socket.data.principal, parsed) ||
        (socket.data.principal.kind === "user" && parsed.namespace.authorize === "member");
      if (membersOnly && !socket.rooms.has(room)) {
        throw new ProtocolError("forbidden", `subscribe to ${parsed.topic} (with its grant) to see who is there`);
      }
      return { ok: true, topic: parsed.topic, users: await presence.list(room) };
    },
    async update(socket, request) {
      try {
        const reply = await updateMeta(socket, request);
        onUpdate?.(reply.changed ? "updated" : "unchanged");
        return reply;
      } catch (error) {
        onUpdate?.(error instanceof ProtocolError ? error.code : "internal");
        throw error;
      }
    },
    watch(socket) {
      socket.on("disconnecting", leaveAll);
    },
  };

  // Shared by every socket (`this`): a closure per socket costs memory per connection. "disconnecting",
  // not "disconnect": right after it `socket.connected` turns false, and `joined` records nothing more.
  function leaveAll(this: HubSocket): void {
    for (const entry of present.takeAll(this)) void warnOnFailure(presence.leave(entry), entry, "leave");
  }
}
