// Baseline "plain" of the calls scenario: a 1-to-1 call relay written with Socket.IO alone, the
// calls in an in-memory map of this one process (so caller and callee must both connect here); no
// Redis, no auth, no persistence. It gives the reference round trip of the same events.
import { randomUUID } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import { statsRoute } from "./stats-route.js";

interface Call {
  id: string;
  caller: string;
  callee: string;
  status: "ringing" | "active";
  timer: NodeJS.Timeout | undefined;
}

type Ack = (reply: unknown) => void;
type Request = { call_id?: string; to?: string; media?: string; candidate?: unknown };

const ringMs = Number(process.env.CALL_RING_TIMEOUT_MS ?? 60_000);
const http: HttpServer = createServer(statsRoute(() => ({ connections: io.engine.clientsCount })));
const io: Server = new Server(http);
const sockets = new Map<string, Socket>();
const calls = new Map<string, Call>();

/** Emits `event` to the user's socket, shaped like the hub's envelope (`{ type, data }`). */
const emit = (user: string, event: string, data: object) => sockets.get(user)?.emit(event, { type: event, data });
const refuse = (ack: Ack | undefined, message: string) => ack?.({ ok: false, error: { code: "bad_request", message } });

function finish(call: Call, event: string, data: object): void {
  clearTimeout(call.timer);
  calls.delete(call.id);
  emit(call.caller, event, data);
  emit(call.callee, event, data);
}

io.on("connection", (socket) => {
  const user = String((socket.handshake.auth as { user?: string }).user);
  sockets.set(user, socket);
  socket.on("disconnect", () => sockets.delete(user));
  socket.on("subscribe", (msg: { topic?: string }, ack?: Ack) => ack?.({ ok: true, topic: msg?.topic }));
  socket.on("call:initiate", ({ to, media }: Request, ack?: Ack) => {
    if (typeof to !== "string" || !sockets.has(to)) return refuse(ack, "no such user");
    const call: Call = { id: randomUUID(), caller: user, callee: to, status: "ringing", timer: undefined };
    call.timer = setTimeout(() => finish(call, "call:missed", { call_id: call.id }), ringMs);
    calls.set(call.id, call);
    emit(to, "call:incoming", { call_id: call.id, from: user, media });
    ack?.({ ok: true, call_id: call.id });
  });
  socket.on("call:answer", ({ call_id }: Request, ack?: Ack) => {
    const call = calls.get(String(call_id));
    if (!call || call.callee !== user || call.status !== "ringing") return refuse(ack, "not ringing for you");
    clearTimeout(call.timer);
    call.status = "active";
    emit(call.caller, "call:answered", { call_id: call.id, by: user });
    emit(call.callee, "call:answered", { call_id: call.id, by: user });
    ack?.({ ok: true, call_id: call.id });
  });
  socket.on("webrtc:ice-candidate", ({ call_id, candidate }: Request, ack?: Ack) => {
    const call = calls.get(String(call_id));
    if (!call || (call.caller !== user && call.callee !== user)) return refuse(ack, "not your call");
    emit(call.caller === user ? call.callee : call.caller, "webrtc:ice-candidate", { call_id: call.id, from: user, candidate });
    ack?.({ ok: true, call_id: call.id });
  });
  socket.on("call:end", ({ call_id }: Request, ack?: Ack) => {
    const call = calls.get(String(call_id));
    if (!call || (call.caller !== user && call.callee !== user)) return refuse(ack, "not your call");
    finish(call, "call:ended", { call_id: call.id, by: user, reason: "hangup" });
    ack?.({ ok: true, call_id: call.id });
  });
});

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  console.log(JSON.stringify({ msg: "listening", port }));
});

process.once("SIGTERM", () => {
  for (const call of calls.values()) clearTimeout(call.timer);
  void io.close();
});
