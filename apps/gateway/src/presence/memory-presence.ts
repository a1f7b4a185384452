import type { PresenceMember } from "@hub/events";
import type { Server } from "socket.io";
import type { HubServer } from "../protocol/hub-socket.js";
import { byJoinTime, type Presence, type PresenceEntry } from "./presence.js";
import { type PresenceEventInput, type PresenceNaming, presenceEvent } from "./presence-event.js";

interface Present {
  orgId: string;
  connections: Set<string>;
  joinedAt: number;
}

/** Presence of a single node (memory engine): in-process maps, announced through the node's rooms. */
export function memoryPresence(io: HubServer, names: PresenceNaming): Presence {
  // topic -> user id -> the user's connections on it
  const topics = new Map<string, Map<string, Present>>();
  const announce = (input: Omit<PresenceEventInput, "names">) => {
    const { topic, clientEvent, envelope } = presenceEvent({ ...input, names: names(input.topic) });
    // A namespace names its presence events (`user:online` on chat): the typed server knows the defaults.
    (io as unknown as Server).to(topic).emit(clientEvent, envelope);
  };

  return {
    async join({ topic, userId, orgId, connectionId }: PresenceEntry) {
      const users = topics.get(topic) ?? new Map<string, Present>();
      topics.set(topic, users);
      const present = users.get(userId);
      if (present) {
        present.connections.add(connectionId);
        return;
      }
      const joinedAt = Date.now();
      users.set(userId, { orgId, connections: new Set([connectionId]), joinedAt });
      announce({ type: "join", topic, userId, orgId, joinedAt });
    },
    async leave({ topic, userId, connectionId }: PresenceEntry) {
      const users = topics.get(topic);
      const present = users?.get(userId);
      if (!users || !present?.connections.delete(connectionId) || present.connections.size > 0) return;
      users.delete(userId);
      if (users.size === 0) topics.delete(topic);
      announce({ type: "leave", topic, userId, orgId: present.orgId });
    },
    async list(topic): Promise<PresenceMember[]> {
      const users = [...(topics.get(topic) ?? [])].map(([userId, present]) => ({
        user_id: userId,
        connections: present.connections.size,
        joined_at: present.joinedAt,
      }));
      return users.sort(byJoinTime);
    },
    async close() {
      topics.clear();
    },
  };
}
