import { SignJWT } from "jose";

/** The tokens a backend gives a member of a conversation, signed with the hub's JWT_SECRET. */
export interface MemberTokens {
  /** For the handshake: `sub`, `org_id`. */
  user: string;
  /** For `subscribe` and `publish` on the conversation: `sub`, `org_id`, `topic`, `pub: true`. */
  subscription: string;
}

/** Mints a member's tokens, valid one hour (what your backend's token routes would answer). */
export async function memberTokens(secret: string, member: { user: string; org: string; topic: string }): Promise<MemberTokens> {
  const key = new TextEncoder().encode(secret);
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("1h").sign(key);
  return {
    user: await sign({ sub: member.user, org_id: member.org }),
    subscription: await sign({ sub: member.user, org_id: member.org, topic: member.topic, pub: true }),
  };
}
