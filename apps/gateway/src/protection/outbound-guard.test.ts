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
});
