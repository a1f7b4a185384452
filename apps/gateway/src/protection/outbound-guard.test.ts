import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HubServer, HubSocket } from "../protocol/hub-socket.js";
import { guardOutbound } from "./outbound-guard.js";

/** One connection as the guard reads it: engine.io's queue and a WebSocket holding `buffered` bytes. */
function stalled(buffered: number, resync: boolean) {
  const writeBuffer = [
    { type: "message", data: '2["roster.player_hired",{"id":"e1"}]' },
    { type: "message", data: '31[{"ok":true}]' },
    { type: "message", data: '2["batch",[["roster.player_hired",{"id":"e2"}]]]' },
    { type: "ping" },
  ];
  const left: string[] = [];
  const socket = {
    id: "s1",
    connected: true,
    rooms: new Set(["s1", "org:o1", "~u:o1:u1"]),
    data: { resync },
    conn: {
      writeBuffer,
      transport: { name: "websocket", writable: false, socket: { bufferedAmount: buffered, terminate: vi.fn() } },
      close: vi.fn(),
    },
    leave: (room: string) => left.push(room),
  };
  const io = { of: () => ({ sockets: new Map([["s1", socket]]) }) } as unknown as HubServer;
  return { io, socket, left };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("guardOutbound", () => {
  it("drops a lagging connection's queued live events (single and batch frames), keeps its acks and pings, takes it off its topics", () => {
    vi.useFakeTimers();
    const { io, socket, left } = stalled(2_000_000, true);
    const lagging: HubSocket[] = [];
    const guard = guardOutbound({
      io,
      maxBytes: 1_048_576,
      logger: pino({ level: "silent" }),
      onDisconnected: () => {},
      onLagging: (s) => lagging.push(s),
      onDrained: () => {},
    });
    // The broadcast path reports a delivery that queued: the next check (100 ms) measures it.
    guard.watch(socket as unknown as HubSocket);
    vi.advanceTimersByTime(100);
    guard.stop();
    expect(lagging).toHaveLength(1);
    expect(socket.conn.writeBuffer).toEqual([{ type: "message", data: '31[{"ok":true}]' }, { type: "ping" }]);
    expect(left).toEqual(["org:o1"]);
    expect(socket.conn.close).not.toHaveBeenCalled();
  });

  it("leaves a connection whose transport wrote everything alone without reading its buffered amount", () => {
    vi.useFakeTimers();
    const { io, socket } = stalled(0, false);
    socket.conn.writeBuffer.length = 0;
    socket.conn.transport.writable = true;
    const read = vi.fn(() => 0);
    Object.defineProperty(socket.conn.transport.socket, "bufferedAmount", { get: read });
    const guard = guardOutbound({
      io,
      maxBytes: 1_048_576,
      logger: pino({ level: "silent" }),
      onDisconnected: () => {},
      onLagging: () => {},
      onDrained: () => {},
    });
    vi.advanceTimersByTime(1_000);
    guard.stop();
    expect(read).not.toHaveBeenCalled();
  });

  it("measures every connection once a second, a watched one every check, and forgets one with nothing queued", () => {
    vi.useFakeTimers();
    const { io, socket } = stalled(2_000_000, false);
    let reads = 0;
    const writeBuffer = socket.conn.writeBuffer;
    Object.defineProperty(socket.conn, "writeBuffer", {
      get: () => {
        reads++;
        return writeBuffer;
      },
    });
    const closed: string[] = [];
    const guard = guardOutbound({
      io,
      maxBytes: 1_048_576,
      logger: pino({ level: "silent" }),
      onDisconnected: () => closed.push("slow_consumer"),
      onLagging: () => {},
      onDrained: () => {},
    });
    // Not watched (its backlog came from replies, not broadcasts): untouched until the full check.
    vi.advanceTimersByTime(900);
    expect(reads).toBe(0);
    vi.advanceTimersByTime(100);
    expect(closed).toEqual(["slow_consumer"]);
    expect(socket.conn.close).toHaveBeenCalledWith(true);

    // A healthy watched connection is read at the next check, then dropped from the list.
    const healthy = stalled(0, false);
    healthy.socket.conn.writeBuffer.length = 0;
    healthy.socket.conn.transport.writable = true;
    let healthyReads = 0;
    const queue = healthy.socket.conn.writeBuffer;
    Object.defineProperty(healthy.socket.conn, "writeBuffer", {
      get: () => {
        healthyReads++;
        return queue;
      },
    });
    guard.watch(healthy.socket as unknown as HubSocket);
    vi.advanceTimersByTime(100);
    expect(healthyReads).toBe(1);
    vi.advanceTimersByTime(800);
    expect(healthyReads).toBe(1);
    guard.stop();
  });
});
