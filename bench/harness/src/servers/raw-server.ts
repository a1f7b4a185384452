// Baseline "raw": a ws server that forwards every message of one Redis channel to every socket; the
// practical ceiling for Node on this machine.
import { Redis } from "ioredis";
import { WebSocketServer } from "ws";

const channel = process.env.BENCH_CHANNEL ?? "bench:fanout";
const sub = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });

sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
  for (const socket of wss.clients) socket.send(message, { binary: false });
});

wss.on("listening", () => {
  void sub.subscribe(channel).then(() => {
    const address = wss.address();
    const port = typeof address === "object" && address ? address.port : 0;
    console.log(JSON.stringify({ msg: "listening", port }));
  });
});

process.once("SIGTERM", () => {
  wss.close();
  sub.disconnect();
  for (const socket of wss.clients) socket.terminate();
});
