// Classic pub/sub on a Redis Cluster through one node: messages from any master arrive, and losing
// that node is told (close, then ready on another node, subscribed again).
import { type RedisCluster, startRedisCluster, until } from "@hub/devkit";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { NodeSubscriber } from "../src/engine/node-subscriber.js";

let cluster: RedisCluster;
let producer: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  producer = new Cluster(cluster.startupNodes);
});
afterAll(async () => {
  producer?.disconnect();
  await cluster?.stop();
});

it("hears every master through one node, and moves to another node when its node dies, telling close then ready", async () => {
  let dead = 0;
  const subscriber = new NodeSubscriber({
    nodes: () => cluster.nodes.filter((n) => n.port !== dead).map((n) => `127.0.0.1:${n.port}`),
    connect: (node) =>
      new Redis(`redis://${node}`, { connectionName: "node-sub-test", retryStrategy: (n) => (n > 2 ? null : 50) }).on(
        "error",
        () => undefined,
      ),
  });
  const seen: string[] = [];
  const events: string[] = [];
  subscriber.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, message: Buffer) => seen.push(`${channel}=${message}`));
  subscriber.on("close", () => events.push("close"));
  subscriber.on("ready", () => events.push("ready"));
  try {
    await subscriber.psubscribe("ns:*");
    // Channels whose slots are on all three masters.
    const channels = ["ns:a", "ns:b", "ns:c", "ns:d", "ns:e", "ns:f"];
    for (const channel of channels) await producer.publish(channel, "1");
    await until("every channel's message", () => seen.length === channels.length);
    expect(seen.sort()).toEqual(channels.map((c) => `${c}=1`));

    // The node the subscriber is connected to.
    const owner = await until("the subscriber's node", async () => {
      for (const node of cluster.nodes) {
        const admin = new Redis(node.url, { lazyConnect: true, retryStrategy: () => null });
        const list = await admin.client("LIST").catch(() => "");
        admin.disconnect();
        if (String(list).includes("name=node-sub-test")) return node;
      }
      return undefined;
    });
    dead = owner.port;
    await owner.kill();
    await until("close, then ready on another node", () => events.join(",").endsWith("close,ready"));
    await cluster.healthy(30_000);
    seen.length = 0;
    await until("messages to flow again", async () => {
      await producer.publish("ns:after", "2").catch(() => undefined);
      return seen.includes("ns:after=2");
    });
  } finally {
    subscriber.close();
  }
}, 60_000);
