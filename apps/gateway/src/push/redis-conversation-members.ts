import { type HubKeys, luaCommands, type RedisClient } from "@hub/store";
import { type ConversationMembers, MAX_CONVERSATION_MEMBERS } from "./conversation-members.js";

interface MemberCommands {
  hubRememberMember(members: string, userId: string, max: number, ttlMs: number): Promise<number>;
}

const withMemberCommands = luaCommands<MemberCommands>(new URL("./lua/", import.meta.url), {
  hubRememberMember: "rememberMember-1",
});

/** Conversation members in a sorted set in the conversation's slot (lua/rememberMember-1.lua). */
export function redisConversationMembers(redis: RedisClient, keys: HubKeys): ConversationMembers {
  const client = withMemberCommands(redis);
  return {
    async remember(room, userId, ttlMs) {
      await client.hubRememberMember(keys.pushMembers(room), userId, MAX_CONVERSATION_MEMBERS, ttlMs);
    },
    list: (room) => redis.zrange(keys.pushMembers(room), 0, -1),
  };
}
