// Baseline "plain": what a user writes in 30 lines with Socket.IO and the Redis adapter; no auth, no
// validation. Clients join a room with `subscribe`; the producer is @socket.io/redis-emitter.
import { createServer, type Server as HttpServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { statsRoute } from "./stats-route.js";

const pub = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const sub = pub.duplicate();
// Socket.IO answers its own path and hands every other request to this listener.
const disconnects: Record<string, number> = {};
const http: HttpServer = createServer(statsRoute(() => ({ connections: io.engine.clientsCount, disconnects })));
const io: Server = new Server(http, { adapter: createAdapter(pub, sub) });
// One shared listener (no closure per socket, which the connections scenario would count).
const countDisconnect = (reason: string) => {
  disconnects[reason] = (disconnects[reason] ?? 0) + 1;
};

io.on("connection", (socket) => {
  socket.on("disconnect", countDisconnect);
  socket.on("subscribe", (msg: { topic?: unknown }, ack?: (reply: unknown) => void) => {
    if (typeof msg?.topic !== "string") return ack?.({ ok: false });
    void socket.join(msg.topic);
    ack?.({ ok: true, topic: msg.topic });
  });
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
