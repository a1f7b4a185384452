import type { Logger } from "pino";
import { isLocalRoom } from "../protocol/client-publish.js";
import type { HubServer, HubSocket } from "../protocol/hub-socket.js";

/** How often the watched connections' outbound buffers are measured. */
const CHECK_INTERVAL_MS = 100;
/** Every this many checks, every connection is measured (what the watch list cannot see: replies, acks). */
const FULL_CHECK_EVERY = 10;

/** The parts of engine.io's socket the guard reads: its packet queue and the transport under it. */
interface EngineConnection {
  writeBuffer: Array<{ type: string; data?: unknown }>;
  transport?: { name?: string; writable?: boolean; socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
  once(event: "drain", listener: () => void): void;
}

export interface OutboundGuardOptions {
  io: HubServer;
  /** CLIENT_BUFFER_BYTES. */
  maxBytes: number;
  logger: Logger;
  /** A connection whose client did not negotiate resync went past the cap: it was closed. */
  onDisconnected(): void;
  /** A connection whose client negotiated resync went past the cap: its queued live events were dropped and it left its rooms. */
  onLagging(socket: HubSocket): void;
  /** A lagging connection's transport wrote everything it held: tell it which rooms it left (`resync`). */
  onDrained(socket: HubSocket, rooms: string[]): void;
}

export interface OutboundGuard {
  /**
   * A delivery was queued behind the connection's earlier writes (engine.io's packet queue is not
   * empty): measure it from the next check on, until it has nothing queued. The broadcast path calls
   * this, so a connection that falls behind on broadcasts is measured within CHECK_INTERVAL_MS.
   */
  watch(socket: HubSocket): void;
  stop(): void;
}

/**
 * Bounds what a connection that stops reading costs (a paused TCP socket, a long-polling client
 * that never GETs): a connection's outbound bytes not yet handed to the kernel (engine.io's packet
 * queue plus the WebSocket's buffered amount) are measured, and a connection past `maxBytes` is
 * dealt with at once. Every CHECK_INTERVAL_MS the connections on the watch list are measured (those
 * a broadcast queued behind earlier writes, and those found behind before), and every
 * FULL_CHECK_EVERY checks all of them (a backlog built by replies alone is seen within a second).
 * Runs beside the delivery path, not on it: a broadcast adds a connection to the list only when its
 * delivery had to queue; an idle connection costs two property reads per second, not per check
 * (with 10,000 connections the check every 100 ms was ~1% of a core while nothing was sent). A
 * connection leaves the list once nothing is queued. Its timer is owned: `stop()` clears it.
 *
 * Past the cap, a connection whose client negotiated resync (`auth.resync === true`, the client SDK
 * does) keeps its connection but loses its queued live events and leaves its topics, and is told
 * `resync` once drained (see the gateway); any other one is closed (reason `slow_consumer` in the
 * logs and metrics): its client reconnects and recovers from history.
 */
export function guardOutbound(options: OutboundGuardOptions): OutboundGuard {
  const { io, maxBytes, logger, onDisconnected, onLagging, onDrained } = options;
  const watched = new Set<HubSocket>();
  let checks = 0;

  /** Measures one connection; true while it should stay on the watch list. */
  const check = (socket: HubSocket): boolean => {
    if (!socket.connected) return false;
    const conn = socket.conn as unknown as EngineConnection;
    const lagging = socket.data.lagging;
    // Nothing queued and the transport's last write reached the kernel: nothing to measure (two reads).
    if (lagging === undefined && conn.writeBuffer.length === 0 && conn.transport?.writable === true) return false;
    const buffered = conn.transport?.socket?.bufferedAmount ?? 0;
    if (lagging) {
      if (buffered === 0 && conn.writeBuffer.length === 0) {
        socket.data.lagging = undefined;
        onDrained(socket, lagging);
        return false;
      }
      return true;
    }
    if (conn.writeBuffer.length === 0 && buffered < maxBytes) return true;
    const bytes = buffered + queuedBytes(conn.writeBuffer);
    if (bytes <= maxBytes) return true;
    if (socket.data.resync) {
      // Topics only: the socket keeps its own room and its user's node-local one (`~user...`).
      const rooms = [...socket.rooms].filter((room) => room !== socket.id && !isLocalRoom(room));
      socket.data.lagging = rooms;
      // Live events only: acks, pings and the like stay queued.
      conn.writeBuffer = conn.writeBuffer.filter((packet) => !isEvent(packet));
      for (const room of rooms) void socket.leave(room);
      logger.info({ socket: socket.id, bytes, topics: rooms.length }, "slow consumer: live events dropped until it resyncs");
      onLagging(socket);
      return true;
    }
    socket.data.closeReason = "slow_consumer";
    logger.info({ socket: socket.id, bytes, transport: conn.transport?.name }, "slow consumer: connection closed");
    conn.close(true);
    // The WebSocket would wait for its close handshake behind the stuck bytes: free them now.
    conn.transport?.socket?.terminate?.();
    onDisconnected();
    return false;
  };

  const timer = setInterval(() => {
    // A Set visits what is added during the loop (nothing here) and skips what is deleted.
    if (++checks % FULL_CHECK_EVERY === 0) {
      for (const socket of io.of("/").sockets.values()) {
        if (check(socket)) watched.add(socket);
        else if (watched.size > 0) watched.delete(socket);
      }
    } else {
      for (const socket of watched) if (!check(socket)) watched.delete(socket);
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return {
    watch: (socket) => void watched.add(socket),
    stop: () => {
      clearInterval(timer);
      watched.clear();
    },
  };
}

/** A connection's outbound bytes not yet handed to the kernel: engine.io's packet queue plus the WebSocket's buffered amount. */
export function pendingBytes(socket: HubSocket): number {
  const conn = socket.conn as unknown as EngineConnection;
  return (conn.transport?.socket?.bufferedAmount ?? 0) + queuedBytes(conn.writeBuffer);
}

/** The bytes of engine.io packets waiting to be written (strings counted by length). */
function queuedBytes(packets: EngineConnection["writeBuffer"]): number {
  let bytes = 0;
  for (const { data } of packets) {
    if (typeof data === "string") bytes += data.length;
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) bytes += data.byteLength;
  }
  return bytes;
}

/**
 * A Socket.IO EVENT packet of the main namespace, which is what a broadcast queues: engine.io's
 * queue holds Socket.IO's encoding (`2[...]`; the engine.io type `4` is added when it is written).
 */
function isEvent(packet: { type: string; data?: unknown }): boolean {
  return packet.type === "message" && typeof packet.data === "string" && packet.data.startsWith("2[");
}
