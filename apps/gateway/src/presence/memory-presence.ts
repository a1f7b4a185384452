import type { PresenceMember } from "@hub/events";
import type { HubServer } from "../protocol/hub-socket.js";
import { byJoinTime, type Presence, type PresenceEntry } from "./presence.js";
import { type PresenceEventInput, presenceEvent } from "./presence-event.js";

interface Present {
  orgId: string;
  connections: Set<string>;
  joinedAt: number;
}

/** Presence of a single node (memory engine): in-process maps, announced through the node's rooms. */
export function memoryPresence(io: HubServer): Presence {
  // topic -> user id -> the user's connections on it
  const topics = new Map<string, Map<string, Present>>();
  const announce = (input: PresenceEventInput) => {
    const { topic, clientEvent, envelope } = presenceEvent(input);
    io.to(topic).emit(clientEvent, envelope);
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
      announce({ type: "presence.join", topic, userId, orgId, joinedAt });
    },
    async leave({ topic, userId, connectionId }: PresenceEntry) {
      const users = topics.get(topic);
      const present = users?.get(userId);
      if (!users || !present?.connections.delete(connectionId) || present.connections.size > 0) return;
      users.delete(userId);
      if (users.size === 0) topics.delete(topic);
      announce({ type: "presence.leave", topic, userId, orgId: present.orgId });
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
