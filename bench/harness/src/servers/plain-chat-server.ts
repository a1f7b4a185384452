// Baseline "plain" of the chat scenario: the chat relay a user writes in ~15 lines with Socket.IO and
// the Redis adapter, one room per conversation; no auth, no validation, no history.
import { createServer, type Server as HttpServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { statsRoute } from "./stats-route.js";

const pub = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const sub = pub.duplicate();
const http: HttpServer = createServer(statsRoute(() => ({ connections: io.engine.clientsCount })));
const io: Server = new Server(http, { adapter: createAdapter(pub, sub) });

io.on("connection", (socket) => {
  let room: string | undefined;
  socket.on("subscribe", (msg: { topic?: unknown }, ack?: (reply: unknown) => void) => {
    if (typeof msg?.topic !== "string") return ack?.({ ok: false });
    room = msg.topic;
    void socket.join(room);
    ack?.({ ok: true, topic: room });
  });
  socket.on("message:send", (m: unknown) => room && socket.to(room).emit("message:new", m));
  socket.on("typing:start", (m: unknown) => room && socket.to(room).emit("typing:start", m));
});

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  console.log(JSON.stringify({ msg: "listening", port }));
});

process.once("SIGTERM", () => {
  void io.close();
  pub.disconnect();
  sub.disconnect();
});
