import type { PresenceMember } from "@hub/events";
import type { Server } from "socket.io";
import type { HubServer } from "../protocol/hub-socket.js";
import {
  byJoinTime,
  earliestFirst,
  latestMeta,
  type MetaOutcome,
  type Presence,
  type PresenceEntry,
  type PresenceSince,
} from "./presence.js";
import { type PresenceEventInput, type PresenceNaming, presenceEvent } from "./presence-event.js";

interface Present {
  orgId: string;
  connections: Set<string>;
  joinedAt: number;
  /** Connection id -> its metadata (serialized) and when it was set. */
  metas: Map<string, { at: number; meta: string }>;
}

/** Presence of a single node (memory engine): in-process maps, announced through the node's rooms. */
export function memoryPresence(io: HubServer, names: PresenceNaming): Presence {
  // topic -> user id -> the user's connections on it
  const topics = new Map<string, Map<string, Present>>();
  // `{org id}\n{user id}` -> the topics the user is present on
  const userTopics = new Map<string, Set<string>>();
  const announce = (input: Omit<PresenceEventInput, "names">) => {
    const { topic, clientEvent, envelope } = presenceEvent({ ...input, names: names(input.topic) });
    if (clientEvent === "") return;
    // A namespace names its presence events (`user:online` on chat): the typed server knows the defaults.
    (io as unknown as Server).to(topic).emit(clientEvent, envelope);
  };
  // User ids are unique within an org only: a per-user topic's room is per org, a topic's is shared.
  const presentOf = ({ topic, userId, orgId }: PresenceEntry) => {
    const present = topics.get(topic)?.get(userId);
    return present?.orgId === orgId ? present : undefined;
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
      users.set(userId, { orgId, connections: new Set([connectionId]), joinedAt, metas: new Map() });
      const key = `${orgId}\n${userId}`;
      userTopics.set(key, (userTopics.get(key) ?? new Set()).add(topic));
      announce({ type: "join", topic, userId, orgId, joinedAt });
    },
    async leave({ topic, userId, connectionId }: PresenceEntry) {
      const users = topics.get(topic);
      const present = users?.get(userId);
      present?.metas.delete(connectionId);
      if (!users || !present?.connections.delete(connectionId) || present.connections.size > 0) return;
      users.delete(userId);
      if (users.size === 0) topics.delete(topic);
      const key = `${present.orgId}\n${userId}`;
      const left = userTopics.get(key);
      left?.delete(topic);
      if (left?.size === 0) userTopics.delete(key);
      announce({ type: "leave", topic, userId, orgId: present.orgId });
    },
    async update(entry, meta): Promise<MetaOutcome> {
      const present = presentOf(entry);
      if (!present?.connections.has(entry.connectionId)) return "absent";
      if (present.metas.get(entry.connectionId)?.meta === meta) return "unchanged";
      present.metas.set(entry.connectionId, { at: Date.now(), meta });
      announce({ type: "update", topic: entry.topic, userId: entry.userId, orgId: entry.orgId, meta: JSON.parse(meta) });
      return "updated";
    },
    async list(topic): Promise<PresenceMember[]> {
      const users = [...(topics.get(topic) ?? [])].map(([userId, present]): PresenceMember => {
        const meta = latestMeta(present.metas.values());
        const member = { user_id: userId, connections: present.connections.size, joined_at: present.joinedAt };
        return meta === undefined ? member : { ...member, meta };
      });
      return users.sort(byJoinTime);
    },
    async userTopics(orgId, userId): Promise<PresenceSince[]> {
      const found = [...(userTopics.get(`${orgId}\n${userId}`) ?? [])].map((topic) => ({
        id: topic,
        since: topics.get(topic)?.get(userId)?.joinedAt ?? 0,
      }));
      return found.sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : 1));
    },
    async orgUsers(orgId, limit) {
      const sinceOf = new Map<string, number>();
      for (const [key, present] of userTopics) {
        const [org, userId = ""] = key.split("\n");
        if (org !== orgId) continue;
        for (const topic of present) {
          const since = topics.get(topic)?.get(userId)?.joinedAt ?? 0;
          sinceOf.set(userId, Math.min(since, sinceOf.get(userId) ?? since));
        }
      }
      return earliestFirst(sinceOf, limit);
    },
    async close() {
      topics.clear();
      userTopics.clear();
    },
  };
}
