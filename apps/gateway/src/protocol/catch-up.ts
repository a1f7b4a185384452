import { type HistoryPolicy, ProtocolError, type StreamPosition, type SubscribeOk } from "@hub/events";
import type { History, HistoryEntry, HistoryQuery, HistoryRead } from "@hub/store";
import { pendingBytes } from "../protection/outbound-guard.js";
import type { HeldEvent, LiveHolds } from "../recovery/live-holds.js";
import type { HubSocket } from "./hub-socket.js";

type Emit = (event: string, message: unknown) => boolean;

/** What a catch-up needs from the gateway. */
export interface CatchUpContext {
  history: History;
  holds: LiveHolds;
  /** Broker.follow: makes sure this node receives the room's broadcasts while it catches up. */
  follow(room: string): Promise<() => void>;
  /** Resolves once every broadcast of the room published before the call reached this node (Broker.liveBarrier). */
  liveBarrier(room: string): Promise<void>;
  /** Broker.liveGeneration: a catch-up during which it moved may have missed broadcasts. */
  liveGeneration(room: string): number;
  /** Whether Redis is reachable now; without it a catch-up answers `unavailable` at once. */
  available(): boolean;
  /**
   * A replay is written at the pace its client reads: past this many outbound bytes waiting for the
   * connection (half of CLIENT_BUFFER_BYTES), it waits for them to drain. So a large replay never
   * makes its connection a slow consumer.
   */
  replayBudgetBytes: number;
  /**
   * Told about each catch-up that reached its client: how many history entries it replayed, and
   * whether the client's `since` was recovered (undefined without `since`). For metrics.
   */
  onReplayed?(topic: string, replayed: number, recovered: boolean | undefined): void;
}

/** How long a catch-up waits for its history read and barrier before answering `unavailable`. */
const CATCH_UP_TIMEOUT_MS = 5_000;

/**
 * Subscribes a socket to a topic with history, with no gap and no duplicate between the replay
 * and live delivery. The topic's broadcasts and history are its `room` (`roomOf`); the ack names
 * the `topic`.
 * 1. hold the topic's live broadcasts on this node;
 * 2. read the position and the entries to replay (one Redis script);
 * 3. wait until the broadcasts of every event up to that position reached this node (unless a held
 *    one shows it already), so none of them can still arrive through the room after step 4;
 * 4. send the entries, at the pace the client reads them (`replayBudgetBytes`), while the hold
 *    keeps collecting live broadcasts;
 * 5. join the room and send the held events that came after the read, in one tick, so nothing is
 *    delivered between the last held event and the first live one.
 * If this node's Redis subscription dropped meanwhile (broadcasts lost), or Redis does not answer
 * within CATCH_UP_TIMEOUT_MS, the answer is `unavailable` and the client subscribes again.
 */
export async function catchUp(
  socket: HubSocket,
  { topic, room }: { topic: string; room: string },
  policy: HistoryPolicy,
  query: HistoryQuery,
  context: CatchUpContext,
  joining: { cancelled: boolean },
): Promise<SubscribeOk> {
  if (!context.available()) throw unavailable();
  const hold = context.holds.open(room);
  // On sharded pub/sub a node receives a room's broadcasts only while somebody follows it.
  const following = context.follow(room);
  try {
    let read: HistoryRead;
    let generation = 0;
    try {
      read = await withTimeout(
        (async () => {
          await following;
          generation = context.liveGeneration(room);
          const result = await context.history.read(room, policy, query);
          if (!heldUpTo(hold.events, result.position)) await context.liveBarrier(room);
          return result;
        })(),
      );
    } catch {
      throw unavailable();
    }
    if (context.liveGeneration(room) !== generation) throw unavailable();
    const { epoch } = read.position;
    let offset = read.position.offset;
    const emit = socket.emit.bind(socket) as unknown as Emit;
    // Live events keep being held meanwhile: they come after the read position.
    await replay(socket, read.entries, emit, context.replayBudgetBytes, () => joining.cancelled || !socket.connected);
    // A gap during a long replay closed the room's sockets, not this one (not in the room yet).
    if (context.liveGeneration(room) !== generation) throw unavailable();
    if (!joining.cancelled && socket.connected) {
      void socket.join(room);
      for (const held of hold.events) {
        // An ephemeral client publication (a sender, no offset) is never queued for anybody.
        if (held.envelope.sender_id !== undefined && held.envelope.offset === undefined) continue;
        const current = held.envelope.epoch === epoch && held.envelope.offset !== undefined;
        if (current && (held.envelope.offset as number) <= offset) continue;
        emit(held.clientEvent, held.envelope);
        if (current) offset = held.envelope.offset as number;
      }
      context.onReplayed?.(topic, read.entries.length, read.recovered);
    }
    return { ok: true, topic, epoch, offset, ...(read.recovered === undefined ? {} : { recovered: read.recovered }) };
  } finally {
    context.holds.close(hold);
    // After the join, whose room subscription takes over; a follow that outlived the timeout ends when it settles.
    following.then(
      (release) => release(),
      () => undefined,
    );
  }
}

/** Entries checked between two measurements of the connection's outbound bytes. */
const REPLAY_CHECK_EVERY = 16;
/** How often a paused replay looks again, and how long it waits for its client at most. */
const REPLAY_POLL_MS = 10;
const REPLAY_STALL_MS = 30_000;

/** Emits a replay's entries, waiting whenever more than `budget` bytes wait to be written to the client. */
async function replay(socket: HubSocket, entries: readonly HistoryEntry[], emit: Emit, budget: number, stopped: () => boolean) {
  for (let i = 0; i < entries.length; i++) {
    if (stopped()) return;
    const entry = entries[i] as HistoryEntry;
    emit(entry.clientEvent, entry.envelope);
    if (i % REPLAY_CHECK_EVERY !== REPLAY_CHECK_EVERY - 1 || pendingBytes(socket) <= budget) continue;
    const deadline = Date.now() + REPLAY_STALL_MS;
    while (pendingBytes(socket) > budget / 2) {
      if (stopped()) return;
      if (Date.now() > deadline) throw unavailable();
      await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
    }
  }
}

/**
 * Joins a room whose topic keeps no history once this node receives its broadcasts (on sharded
 * pub/sub a join alone does not wait for the SSUBSCRIBE): a publish after the answer is delivered.
 */
export async function joinLive(socket: HubSocket, room: string, context: Pick<CatchUpContext, "follow">): Promise<void> {
  const following = context.follow(room);
  try {
    try {
      await withTimeout(following);
    } catch {
      throw unavailable();
    }
    await socket.join(room);
  } finally {
    // After the join, whose room subscription takes over; a follow that outlived the timeout ends when it settles.
    following.then(
      (release) => release(),
      () => undefined,
    );
  }
}

/** The position of a topic's room, without replay or joining; `unavailable` as a catch-up would be. */
export async function currentPosition(room: string, policy: HistoryPolicy, context: CatchUpContext): Promise<StreamPosition> {
  if (!context.available()) throw unavailable();
  try {
    return (await withTimeout(context.history.read(room, policy, {}))).position;
  } catch {
    throw unavailable();
  }
}

function unavailable(): ProtocolError {
  return new ProtocolError("unavailable", "the topic's history or live stream is unreachable; subscribe again");
}

/** Rejects when `work` takes longer than CATCH_UP_TIMEOUT_MS; the timer never outlives it. */
async function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), CATCH_UP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a held event of the read's epoch is at or past its position (so all before it arrived). */
function heldUpTo(events: readonly HeldEvent[], position: StreamPosition): boolean {
  const last = events.at(-1)?.envelope;
  return last?.epoch === position.epoch && (last.offset ?? -1) >= position.offset;
}
