// Baseline "raw": a ws server that forwards every message of one Redis channel to every socket; the
// practical ceiling for Node on this machine.
import { createServer, type Server as HttpServer } from "node:http";
import { Redis } from "ioredis";
import { WebSocketServer } from "ws";
import { statsRoute } from "./stats-route.js";

const channel = process.env.BENCH_CHANNEL ?? "bench:fanout";
const sub = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const http: HttpServer = createServer(statsRoute(() => ({ connections: wss.clients.size })));
const wss: WebSocketServer = new WebSocketServer({ server: http });

sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
  for (const socket of wss.clients) socket.send(message, { binary: false });
});

void sub.subscribe(channel).then(() => {
  http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    const address = http.address();
    const port = typeof address === "object" && address ? address.port : 0;
    console.log(JSON.stringify({ msg: "listening", port }));
  });
});

process.once("SIGTERM", () => {
  wss.close();
  http.close();
  sub.disconnect();
  for (const socket of wss.clients) socket.terminate();
});
