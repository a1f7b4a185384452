import type { Envelope, ParsedTopic, UserPrincipal } from "@hub/events";
import type { Logger } from "pino";
import type { Presence } from "../presence/presence.js";
import type { ConversationMembers } from "./conversation-members.js";
import type { PushHook } from "./push-hook.js";

export interface MessagePushesOptions {
  members: ConversationMembers;
  presence: Pick<Presence, "list">;
  push: PushHook;
  logger: Logger;
}

/** Chat messages pushed to the conversation's members who are on it on no device. */
export interface MessagePushes {
  /** A user's socket subscribed to a topic (in its room): a conversation's member is remembered. */
  joined(principal: UserPrincipal, topic: ParsedTopic, room: string): void;
  /** A durable client publication was delivered: offered to every member not present on it, but the sender. */
  published(room: string, envelope: Envelope, event: string): void;
}

/**
 * Who a chat message is pushed to: the users who subscribed to the conversation with a grant (a
 * topic of an `authorize: "grant"` namespace with durable client events), kept for its history
 * window, minus those present on it now (cluster-wide presence), minus the sender. Fire and forget:
 * neither call is awaited by the subscribe or the publish it follows.
 *
 * @example
 * const messages = messagePushes({ members: stores.push.members, presence, push, logger });
 * messages.published(room, envelope, "message:new");
 */
export function messagePushes({ members, presence, push, logger }: MessagePushesOptions): MessagePushes {
  return {
    joined(principal, topic, room) {
      const { namespace } = topic;
      if (!push.enabled || namespace.authorize !== "grant" || !namespace.history) return;
      if (![...namespace.clientEvents.values()].some((event) => event.kind === "durable")) return;
      members
        .remember(room, principal.userId, namespace.history.ttlMs)
        .catch((error: unknown) => logger.warn({ err: error, topic: topic.topic }, "could not remember a conversation member"));
    },
    published(room, envelope, event) {
      if (!push.enabled) return;
      offline(room, envelope.sender_id)
        .then((users) => {
          for (const userId of users) push.offer({ kind: "message", userId, orgId: envelope.org_id, envelope, event });
        })
        .catch((error: unknown) => logger.warn({ err: error, topic: envelope.topic }, "could not find whom to push a message to"));
    },
  };

  async function offline(room: string, senderId: string | undefined): Promise<string[]> {
    const [known, present] = await Promise.all([members.list(room), presence.list(room)]);
    const here = new Set(present.map((member) => member.user_id));
    return known.filter((userId) => userId !== senderId && !here.has(userId));
  }
}
