/** How many members of one conversation are kept (the most recent subscribers); pushes go to no others. */
export const MAX_CONVERSATION_MEMBERS = 1_000;

/**
 * The users the hub knows to be in a conversation: those who subscribed to its topic with a grant,
 * kept for the conversation's history window after their last subscribe. Who a chat message is
 * pushed to (minus those present on it, minus the sender).
 */
export interface ConversationMembers {
  /** Records a user as a member of the room's conversation for `ttlMs` (renewed on each subscribe). */
  remember(room: string, userId: string, ttlMs: number): Promise<void>;
  /** The room's members. */
  list(room: string): Promise<string[]>;
}
