import { type Huddle, huddleTopic, publicView } from "@hub/entities";
import {
  type HuddleCreateOk,
  type HuddleJoinOk,
  type HuddleMember,
  type HuddleOk,
  ID_SEGMENT,
  ProtocolError,
  type RequestOf,
  type UserPrincipal,
  uuidv7,
} from "@hub/events";
import type { HubSocket } from "../protocol/hub-socket.js";
import { conversationKey, keyOfHuddle, newHuddleId } from "./huddle-id.js";
import { chargeRate, connectionOf, ensureAvailable, type RtcContext, userOf } from "./rtc-context.js";

/** What each invitee costs of the user's client publication rate: an invitation of 50 costs 5 publications. */
const INVITEE_COST = 0.1;

/** The huddles each socket joined: its participant loses this connection when it closes. */
const socketHuddles = new WeakMap<HubSocket, Set<string>>();

/** `huddle:create { conversation_id, max? }`: the conversation's huddle, created if it has none. */
export async function createHuddle(socket: HubSocket, request: RequestOf<"huddle:create">, context: RtcContext): Promise<HuddleCreateOk> {
  const me = userOf(socket, "huddles");
  ensureAvailable(context);
  return openHuddle(context, me.orgId, String(request.conversation_id), me.userId, request.max);
}

/** Creates a conversation's huddle, or answers the one it has (also `POST /api/v1/huddles`). */
export async function openHuddle(
  context: RtcContext,
  orgId: string,
  conversationId: string,
  by: string | null,
  max: number | undefined,
): Promise<HuddleCreateOk> {
  if (!ID_SEGMENT.test(conversationId)) throw new ProtocolError("bad_request", "conversation_id: not an id");
  const key = conversationKey(orgId, conversationId);
  const huddleId = newHuddleId(key);
  const { state } = await context.runtime.apply(context.huddles, key, {
    type: "create",
    huddle_id: huddleId,
    by,
    org_id: orgId,
    conversation_id: conversationId,
    max: Math.min(max ?? context.maxParticipants, context.maxParticipants),
  });
  const id = (state as Huddle).id;
  return { ok: true, huddle_id: id, created: id === huddleId };
}

/** `huddle:join { huddle_id }`: joins the huddle (`huddle_full` past its max) and subscribes this socket to its topic. */
export async function joinHuddle(socket: HubSocket, { huddle_id }: RequestOf<"huddle:join">, context: RtcContext): Promise<HuddleJoinOk> {
  const me = userOf(socket, "huddles");
  ensureAvailable(context);
  const { state } = await context.runtime.apply(context.huddles, entityOf(huddle_id), {
    type: "join",
    huddle_id,
    by: me.userId,
    org_id: me.orgId,
    connection: connectionOf(context, socket),
  });
  const huddles = socketHuddles.get(socket) ?? new Set<string>();
  huddles.add(huddle_id);
  socketHuddles.set(socket, huddles);
  await context.join(socket, huddleTopic(huddle_id));
  return { ok: true, huddle_id, participants: participantsOf(state) };
}

/**
 * `huddle:leave { huddle_id }`: this connection leaves and unsubscribes; its participant leaves with
 * their last connection in the huddle (the last one out ends it).
 */
export async function leaveHuddle(socket: HubSocket, { huddle_id }: RequestOf<"huddle:leave">, context: RtcContext): Promise<HuddleOk> {
  const me = userOf(socket, "huddles");
  ensureAvailable(context);
  await context.runtime.apply(context.huddles, entityOf(huddle_id), {
    type: "leave",
    huddle_id,
    by: me.userId,
    org_id: me.orgId,
    connection: connectionOf(context, socket),
  });
  socketHuddles.get(socket)?.delete(huddle_id);
  await context.leave(socket, huddleTopic(huddle_id));
  return { ok: true, huddle_id };
}

/** `huddle:toggle-audio | -video | -screen { enabled }`, `huddle:raise-hand { raised }`: everyone sees `huddle:participant:updated`. */
export async function toggleHuddle(
  socket: HubSocket,
  what: "audio" | "video" | "screen" | "hand",
  huddleId: string,
  enabled: boolean,
  context: RtcContext,
): Promise<HuddleOk> {
  const me = userOf(socket, "huddles");
  ensureAvailable(context);
  await context.runtime.apply(context.huddles, entityOf(huddleId), {
    type: "toggle",
    huddle_id: huddleId,
    by: me.userId,
    org_id: me.orgId,
    what,
    enabled,
  });
  return { ok: true, huddle_id: huddleId };
}

/** `huddle:message { huddle_id, text, message_id? }`: everyone gets `huddle:message:new`, kept in the huddle's history. */
export async function huddleMessage(socket: HubSocket, request: RequestOf<"huddle:message">, context: RtcContext): Promise<HuddleOk> {
  const me = userOf(socket, "huddles");
  ensureAvailable(context);
  const { huddle_id, text } = request;
  await context.runtime.apply(context.huddles, entityOf(huddle_id), {
    type: "message",
    huddle_id,
    by: me.userId,
    org_id: me.orgId,
    text,
    message_id: request.message_id ?? uuidv7(),
  });
  return { ok: true, huddle_id };
}

/** `huddle:invite { huddle_id, user_ids }`: each invitee's `notifications:{user}` gets `huddle:invited` (charged to the user's rate). */
export async function inviteToHuddle(socket: HubSocket, request: RequestOf<"huddle:invite">, context: RtcContext): Promise<HuddleOk> {
  const me = userOf(socket, "huddles");
  ensureAvailable(context);
  const users = request.user_ids.map(String);
  await chargeRate(context, me, INVITEE_COST * new Set(users).size);
  await invite(context, me.orgId, request.huddle_id, me.userId, users);
  return { ok: true, huddle_id: request.huddle_id };
}

/** Invites users of the huddle's org (`by` null: a service, `POST /api/v1/huddles/:id/invite`). */
export async function invite(context: RtcContext, orgId: string, huddleId: string, by: string | null, users: string[]): Promise<void> {
  if (!users.every((user) => ID_SEGMENT.test(user))) throw new ProtocolError("bad_request", "user_ids: not user ids");
  await context.runtime.apply(context.huddles, entityOf(huddleId), {
    type: "invite",
    huddle_id: huddleId,
    by,
    org_id: orgId,
    user_ids: users,
  });
}

/** Tells the huddles this connection was in that it closed: its participant is away, and leaves after HUDDLE_GRACE_MS. */
export function leaveHuddlesOf(socket: HubSocket, context: RtcContext, onError: (error: unknown, huddleId: string) => void): void {
  const huddles = socketHuddles.get(socket);
  if (!huddles) return;
  socketHuddles.delete(socket);
  const me = socket.data.principal;
  if (me.kind !== "user") return;
  for (const huddleId of huddles) {
    context.runtime
      .apply(context.huddles, entityOf(huddleId), {
        type: "disconnect",
        huddle_id: huddleId,
        by: me.userId,
        org_id: me.orgId,
        connection: connectionOf(context, socket),
      })
      .catch((error: unknown) => {
        // The huddle ended or they left meanwhile: nothing to do.
        if (!(error instanceof ProtocolError && (error.code === "not_found" || error.code === "forbidden"))) onError(error, huddleId);
      });
  }
}

/** Whether a user is a participant of the huddle a topic names (who may subscribe to `huddle:{id}`). */
export async function isParticipant(context: RtcContext, user: UserPrincipal, huddleId: string): Promise<boolean> {
  const key = keyOfHuddle(huddleId);
  if (key === undefined) return false;
  const huddle = await context.runtime.read(context.huddles, key);
  return (
    huddle !== null && huddle.id === huddleId && huddle.org_id === user.orgId && huddle.participants.some((p) => p.user_id === user.userId)
  );
}

/** A huddle's state as the HTTP route answers it, if it exists in this org. */
export async function readHuddle(context: RtcContext, orgId: string | undefined, huddleId: string): Promise<Huddle | null> {
  const key = keyOfHuddle(huddleId);
  if (key === undefined) return null;
  const huddle = await context.runtime.read(context.huddles, key);
  if (huddle === null || huddle.id !== huddleId || (orgId !== undefined && huddle.org_id !== orgId)) return null;
  return huddle;
}

export function participantsOf(huddle: Huddle | null): HuddleMember[] {
  return (huddle?.participants ?? []).map(publicView);
}

function entityOf(huddleId: string): string {
  const key = keyOfHuddle(huddleId);
  if (key === undefined) throw new ProtocolError("not_found", "no such huddle");
  return key;
}
