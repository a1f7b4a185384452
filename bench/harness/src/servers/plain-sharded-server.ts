// Baseline "plain" on Redis Cluster: the plain server with `@socket.io/redis-adapter`'s sharded
// adapter (SSUBSCRIBE per room, subscription mode dynamic) over ioredis `Cluster` clients; no auth,
// no validation. Clients join a room with `subscribe`; producers SPUBLISH in the adapter's format.
import { createServer, type Server as HttpServer } from "node:http";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { Cluster } from "ioredis";
import { Server } from "socket.io";
import { statsRoute } from "./stats-route.js";

const nodes = (process.env.REDIS_CLUSTER_NODES ?? "127.0.0.1:7000").split(",").map((seed) => {
  const [host, port] = seed.split(":");
  return { host: host ?? "127.0.0.1", port: Number(port) };
});
const pub = new Cluster(nodes);
// ioredis routes each SSUBSCRIBE to a connection to the master that serves the channel's slot.
const sub = new Cluster(nodes, { shardedSubscribers: true });
// Room broadcasts received from Redis, counted once per message as the gateway's hub_pubsub_messages_total is.
let pubsubMessages = 0;
sub.on("smessageBuffer", () => {
  pubsubMessages++;
});
const http: HttpServer = createServer(statsRoute(() => ({ connections: io.engine.clientsCount, pubsubMessages })));
const io: Server = new Server(http, { adapter: createShardedAdapter(pub, sub, { subscriptionMode: "dynamic" }) });

io.on("connection", (socket) => {
  socket.on("subscribe", (msg: { topic?: unknown }, ack?: (reply: unknown) => void) => {
    if (typeof msg?.topic !== "string") return ack?.({ ok: false });
    void socket.join(msg.topic);
    ack?.({ ok: true, topic: msg.topic });
  });
});

// Listens once both clients know the cluster's slots: a subscribe before that would wait anyway.
await Promise.all(
  [pub, sub].map((client) => (client.status === "ready" ? undefined : new Promise((resolve) => client.once("ready", resolve)))),
);
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
