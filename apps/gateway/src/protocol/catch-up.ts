import type { History, HistoryQuery, HistoryRead } from "@hub/emitter";
import { type HistoryPolicy, ProtocolError, type StreamPosition, type SubscribeOk } from "@hub/events";
import type { HeldEvent, LiveHolds } from "../recovery/live-holds.js";
import type { HubSocket } from "./hub-socket.js";

/** A subscription on its way in; `cancelled` when the client unsubscribed meanwhile. */
export interface Joining {
  cancelled: boolean;
  readonly result: Promise<SubscribeOk>;
}

type Emit = (event: string, message: unknown) => boolean;

/** What a catch-up needs from the gateway. */
export interface CatchUpContext {
  history: History;
  holds: LiveHolds;
  /** Resolves once every broadcast published before the call reached this node (Engine.liveBarrier). */
  liveBarrier(): Promise<void>;
}

/**
 * Subscribes a socket to a topic with history, with no gap and no duplicate between the replay
 * and live delivery:
 * 1. hold the topic's live broadcasts on this node;
 * 2. read the position and the entries to replay (one Redis script);
 * 3. wait until the broadcasts of every event up to that position reached this node (unless a held
 *    one shows it already), so none of them can still arrive through the room after step 4;
 * 4. send the entries, join the room and send the held events that came after the read, in one
 *    tick, so nothing is delivered between the last held event and the first live one.
 */
export async function catchUp(
  socket: HubSocket,
  topic: string,
  policy: HistoryPolicy,
  query: HistoryQuery,
  context: CatchUpContext,
  joining: { cancelled: boolean },
): Promise<SubscribeOk> {
  const hold = context.holds.open(topic);
  try {
    let read: HistoryRead;
    try {
      read = await context.history.read(topic, policy, query);
      if (!heldUpTo(hold.events, read.position)) await context.liveBarrier();
    } catch {
      throw new ProtocolError("unavailable", "the topic's history is unreachable; subscribe again");
    }
    const { epoch } = read.position;
    let offset = read.position.offset;
    if (!joining.cancelled && socket.connected) {
      const emit = socket.emit.bind(socket) as unknown as Emit;
      for (const entry of read.entries) emit(entry.clientEvent, entry.envelope);
      void socket.join(topic);
      for (const held of hold.events) {
        const current = held.envelope.epoch === epoch && held.envelope.offset !== undefined;
        if (current && (held.envelope.offset as number) <= offset) continue;
        emit(held.clientEvent, held.envelope);
        if (current) offset = held.envelope.offset as number;
      }
    }
    return { ok: true, topic, epoch, offset, ...(read.recovered === undefined ? {} : { recovered: read.recovered }) };
  } finally {
    context.holds.close(hold);
  }
}

/** Whether a held event of the read's epoch is at or past its position (so all before it arrived). */
function heldUpTo(events: readonly HeldEvent[], position: StreamPosition): boolean {
  const last = events.at(-1)?.envelope;
  return last?.epoch === position.epoch && (last.offset ?? -1) >= position.offset;
}
