import type { Logger } from "pino";
import { isLocalRoom } from "../protocol/client-publish.js";
import type { HubServer, HubSocket } from "../protocol/hub-socket.js";

/** How often every connection's outbound buffer is measured. */
const CHECK_INTERVAL_MS = 100;

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

/**
 * Bounds what a connection that stops reading costs (a paused TCP socket, a long-polling client
 * that never GETs): every CHECK_INTERVAL_MS, each connection's outbound bytes not yet handed to the
 * kernel (engine.io's packet queue plus the WebSocket's buffered amount) are measured, and a
 * connection past `maxBytes` is dealt with at once. Runs beside the delivery path, not on it: a
 * broadcast does no extra work per socket, and a healthy connection costs two property reads per
 * check (its packet queue and whether its transport's last write reached the kernel). Its timer is
 * owned: `stop()` clears it.
 *
 * Past the cap, a connection whose client negotiated resync (`auth.resync === true`, the client SDK
 * does) keeps its connection but loses its queued live events and leaves its topics, and is told
 * `resync` once drained (see the gateway); any other one is closed (reason `slow_consumer` in the
 * logs and metrics): its client reconnects and recovers from history.
 */
export function guardOutbound(options: OutboundGuardOptions): { stop(): void } {
  const { io, maxBytes, logger, onDisconnected, onLagging, onDrained } = options;
  const timer = setInterval(() => {
    for (const socket of io.of("/").sockets.values()) {
      const conn = socket.conn as unknown as EngineConnection;
      const lagging = socket.data.lagging;
      // Nothing queued and the transport's last write reached the kernel: nothing to measure (two reads).
      if (lagging === undefined && conn.writeBuffer.length === 0 && conn.transport?.writable === true) continue;
      const buffered = conn.transport?.socket?.bufferedAmount ?? 0;
      if (lagging) {
        if (buffered === 0 && conn.writeBuffer.length === 0) {
          socket.data.lagging = undefined;
          onDrained(socket, lagging);
        }
        continue;
      }
      if (conn.writeBuffer.length === 0 && buffered < maxBytes) continue;
      const bytes = buffered + queuedBytes(conn.writeBuffer);
      if (bytes <= maxBytes) continue;
      if (socket.data.resync) {
        // Topics only: the socket keeps its own room and its user's node-local one (`~user...`).
        const rooms = [...socket.rooms].filter((room) => room !== socket.id && !isLocalRoom(room));
        socket.data.lagging = rooms;
        // Live events only: acks, pings and the like stay queued.
        conn.writeBuffer = conn.writeBuffer.filter((packet) => !isEvent(packet));
        for (const room of rooms) void socket.leave(room);
        logger.info({ socket: socket.id, bytes, topics: rooms.length }, "slow consumer: live events dropped until it resyncs");
        onLagging(socket);
        continue;
      }
      socket.data.closeReason = "slow_consumer";
      logger.info({ socket: socket.id, bytes, transport: conn.transport?.name }, "slow consumer: connection closed");
      conn.close(true);
      // The WebSocket would wait for its close handshake behind the stuck bytes: free them now.
      conn.transport?.socket?.terminate?.();
      onDisconnected();
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
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
