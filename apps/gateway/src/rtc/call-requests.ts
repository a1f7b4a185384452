import { type Call, callTopic, isLive } from "@hub/entities";
import { type CallInitiateOk, type CallOk, ID_SEGMENT, ProtocolError, type RequestOf, type UserPrincipal, uuidv7 } from "@hub/events";
import type { HubSocket } from "../protocol/hub-socket.js";
import { PENDING_LINE_TTL_MS, parseLine, pendingLine } from "./call-lines.js";
import { chargeRate, ensureAvailable, type RtcContext, userOf } from "./rtc-context.js";

/** The calls each socket initiated or answered: a party's call ends when that connection closes. */
const socketCalls = new WeakMap<HubSocket, Set<string>>();
/** Each socket's signalling, one message after the other: relayed in the order sent. */
const relays = new WeakMap<HubSocket, Promise<unknown>>();
/**
 * The live call each socket last signalled on, for `RELAY_CACHE_MS`: a burst of ICE candidates
 * reads the call once. Its parties never change; that it is still live may be this much stale when
 * the other party ended it (their late candidates reach nobody who listens). Cleared by the
 * socket's own call requests.
 */
const relayCache = new WeakMap<HubSocket, { call: Call; until: number }>();
const RELAY_CACHE_MS = 1_000;

/**
 * `call:initiate { to, media, call_id? }`: rings the callee (`call:incoming` on `webrtc:{to}`) if
 * they are of the caller's org (a connection in it, or the backend check) and on no other call;
 * a busy callee makes the call `busy` and the caller gets `call:busy`. Repeating a call id the
 * caller already used answers that call (an idempotent retry).
 */
export async function initiateCall(socket: HubSocket, request: RequestOf<"call:initiate">, context: RtcContext): Promise<CallInitiateOk> {
  const me = userOf(socket, "calls");
  ensureAvailable(context);
  const to = String(request.to);
  if (to === me.userId) throw new ProtocolError("bad_request", "a user cannot call themselves");
  const callId = request.call_id ?? uuidv7();
  const existing = await context.runtime.read(context.calls, callId);
  if (existing) return retried(existing, me, to);
  // Ringing someone is sending them an event: a flood of calls (or of busy calls) is a flood of publications.
  await chargeRate(context, me, 1);
  await ensureCallee(me, to, context);
  // Both lines are held (pending) before the call exists: of two calls racing for a user, as
  // caller or callee, one gets the line (two tabs of one caller cannot ring two callees).
  const pending = pendingLine(callId);
  if ((await takeLine(me.orgId, me.userId, callId, context)) === "busy") {
    throw new ProtocolError("call_in_progress", "you are on another call; end it first");
  }
  const base = { call_id: callId, by: me.userId, org_id: me.orgId, to, media: request.media } as const;
  let line: "taken" | "busy" = "busy";
  try {
    line = await takeLine(me.orgId, to, callId, context);
    await context.runtime.apply(context.calls, callId, { type: line === "busy" ? "busy" : "initiate", ...base });
  } catch (error) {
    // A retry racing the first attempt (its ack timed out): the call the first one created answers it.
    const created =
      error instanceof ProtocolError && error.code === "id_conflict" ? await context.runtime.read(context.calls, callId) : null;
    if (!created) throw error;
    return retried(created, me, to);
  } finally {
    // The call's state (or its absence, on a failure) says from now on whether it holds them.
    await context.lines.claim(me.orgId, me.userId, pending, callId);
    if (line === "taken") await context.lines.claim(me.orgId, to, pending, callId);
  }
  if (line === "busy") return { ok: true, call_id: callId, busy: true };
  await track(socket, me, callId, context);
  return { ok: true, call_id: callId };
}

/** `call:answer | call:reject | call:end { call_id }`. */
export async function callAction(
  socket: HubSocket,
  action: "answer" | "reject" | "end",
  { call_id }: RequestOf<"call:answer">,
  context: RtcContext,
): Promise<CallOk> {
  const me = userOf(socket, "calls");
  ensureAvailable(context);
  const command =
    action === "end"
      ? { type: action, by: me.userId, org_id: me.orgId, reason: "hangup" as const }
      : { type: action, by: me.userId, org_id: me.orgId };
  relayCache.delete(socket);
  await context.runtime.apply(context.calls, call_id, command);
  if (action === "answer") await track(socket, me, call_id, context);
  else socketCalls.get(socket)?.delete(call_id);
  return { ok: true, call_id };
}

/** `call:toggle-audio | call:toggle-video { call_id, enabled }`: the other party is told. */
export async function toggleCallMedia(
  socket: HubSocket,
  media: "audio" | "video",
  { call_id, enabled }: RequestOf<"call:toggle-audio">,
  context: RtcContext,
): Promise<CallOk> {
  const me = userOf(socket, "calls");
  ensureAvailable(context);
  await context.runtime.apply(context.calls, call_id, { type: "toggle", by: me.userId, org_id: me.orgId, media, enabled });
  return { ok: true, call_id };
}

/**
 * `webrtc:offer | webrtc:answer | webrtc:ice-candidate { call_id, sdp?, candidate? }`: relayed to
 * the other party of a ringing or active call, in the order this connection sent them; anyone
 * else is refused `forbidden`.
 */
export function relaySignal(
  socket: HubSocket,
  event: "webrtc:offer" | "webrtc:answer" | "webrtc:ice-candidate",
  request: RequestOf<"webrtc:offer">,
  context: RtcContext,
): Promise<CallOk> {
  const me = userOf(socket, "signalling");
  const previous = relays.get(socket) ?? Promise.resolve();
  const relayed = previous.then(() => relay(socket, me, event, request, context));
  relays.set(
    socket,
    relayed.catch(() => undefined),
  );
  return relayed;
}

async function relay(
  socket: HubSocket,
  me: UserPrincipal,
  event: "webrtc:offer" | "webrtc:answer" | "webrtc:ice-candidate",
  { call_id, sdp, candidate }: RequestOf<"webrtc:offer">,
  context: RtcContext,
): Promise<CallOk> {
  ensureAvailable(context);
  const cached = relayCache.get(socket);
  const fresh = cached !== undefined && cached.call.id === call_id && cached.until > Date.now();
  const call = fresh ? cached.call : await context.runtime.read(context.calls, call_id);
  const party = call !== null && call.org_id === me.orgId && (call.caller === me.userId || call.callee === me.userId);
  if (!party) throw new ProtocolError("forbidden", "only the parties of a call may signal on it");
  if (!isLive(call)) throw new ProtocolError("bad_request", `the call is ${call.status}`);
  if (!fresh) relayCache.set(socket, { call, until: Date.now() + RELAY_CACHE_MS });
  const other = call.caller === me.userId ? call.callee : call.caller;
  const data: Record<string, unknown> = { call_id, from: me.userId };
  if (sdp !== undefined) data.sdp = sdp;
  if (candidate !== undefined) data.candidate = candidate;
  await context.deliver({ id: uuidv7(), org_id: me.orgId, topic: callTopic(other), event, data });
  return { ok: true, call_id };
}

/** Ends the calls this connection was a party of (it closed: a browser tab went away). */
export function endCallsOf(socket: HubSocket, context: RtcContext, onError: (error: unknown, callId: string) => void): void {
  const calls = socketCalls.get(socket);
  if (!calls) return;
  socketCalls.delete(socket);
  const me = socket.data.principal;
  if (me.kind !== "user") return;
  for (const callId of calls) endDisconnected(me, callId, context).catch((error: unknown) => onError(error, callId));
}

/** Ends a call for a party whose connection closed; a call already over (answered elsewhere and ended, missed) is left as it is. */
async function endDisconnected(me: UserPrincipal, callId: string, context: RtcContext): Promise<void> {
  try {
    await context.runtime.apply(context.calls, callId, { type: "end", by: me.userId, org_id: me.orgId, reason: "disconnected" });
  } catch (error) {
    if (!(error instanceof ProtocolError && error.code === "bad_request")) throw error;
  }
}

/** The callee must be of the caller's org: a connection of theirs in it says so, or the backend does. */
async function ensureCallee(me: UserPrincipal, to: string, context: RtcContext): Promise<void> {
  if (!ID_SEGMENT.test(to)) throw new ProtocolError("bad_request", "to: not a user id");
  if (await context.sessions.connected(me.orgId, to)) return;
  if (await context.grants.mayCall(me, to)) return;
  throw new ProtocolError("not_found", `no user ${to} in your org is reachable`);
}

/** Puts the call, pending, on the user's line unless another call holds it: "busy" then. */
async function takeLine(orgId: string, userId: string, callId: string, context: RtcContext): Promise<"taken" | "busy"> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await context.lines.read(orgId, userId);
    if (current !== null && (await holds(current, callId, context))) return "busy";
    if (await context.lines.claim(orgId, userId, current, pendingLine(callId), PENDING_LINE_TTL_MS)) return "taken";
  }
  // Three calls raced for the line in a row: somebody is ringing them.
  return "busy";
}

/** Whether a line keeps its user from another call than `callId`: a live call, or one being placed. */
async function holds(line: string, callId: string, context: RtcContext): Promise<boolean> {
  const { callId: id, pending } = parseLine(line);
  if (id === callId) return false;
  const call = await context.runtime.read(context.calls, id);
  return call === null ? pending : isLive(call);
}

/** A repeated `call:initiate` of the same call: answered as the first was. */
function retried(call: Call, me: UserPrincipal, to: string): CallInitiateOk {
  if (call.org_id !== me.orgId || call.caller !== me.userId || call.callee !== to) {
    throw new ProtocolError("id_conflict", "this call id is taken; leave call_id out to get a fresh one");
  }
  return call.status === "busy" ? { ok: true, call_id: call.id, busy: true } : { ok: true, call_id: call.id };
}

/** Makes the call end when this connection closes; one that closed while the request was applied ends it now. */
async function track(socket: HubSocket, me: UserPrincipal, callId: string, context: RtcContext): Promise<void> {
  // Its disconnect handler ran before the call was this connection's: nothing else would end it.
  if (socket.disconnected) return endDisconnected(me, callId, context);
  const calls = socketCalls.get(socket) ?? new Set<string>();
  calls.add(callId);
  socketCalls.set(socket, calls);
}
