import { closeAllClients, connectClient, nextEvent, request, subscriptionToken, userToken } from "@hub/devkit";
import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { chatSuite } from "./chat-suite.js";
import { type HubFixture, redisHub } from "./hub-fixture.js";

// Two nodes: the users of a conversation sit on different gateways.
chatSuite("redis engine, two nodes", () => redisHub(2));
chatSuite("redis engine, two nodes, sharded pub/sub", () => redisHub(2, { HUB_PUBSUB: "sharded" }));

describe("chat on sharded pub/sub", () => {
  let hub: HubFixture | undefined;
  afterAll(async () => {
    closeAllClients();
    await hub?.close();
  });

  it("subscribes each gateway to the conversation's channel only, never to a user's node-local room", async () => {
    hub = await redisHub(2, { HUB_PUBSUB: "sharded" });
    const topic = "chat:sharded-1";
    const join = async (sub: string, url: string) => {
      const socket = await connectClient(url, await userToken({ sub, org_id: "o1" }));
      await request(socket, "subscribe", { topic, token: await subscriptionToken({ sub, topic, org_id: "o1", pub: true }) });
      return socket;
    };
    const alice = await join("alice", hub.gateways[0]?.url as string);
    const bob = await join("bob", hub.gateways[1]?.url as string);
    const typing = nextEvent(bob, "typing:start");
    await request(alice, "publish", {
      topic,
      event: "typing:start",
      data: {},
      token: await subscriptionToken({ sub: "alice", topic, org_id: "o1", pub: true }),
    });
    expect((await typing).sender_id).toBe("alice");
    const redis = hub.connectProducer?.() as Redis;
    try {
      const channels = (await redis.call("PUBSUB", "SHARDCHANNELS")) as string[];
      expect(channels.filter((c) => c.includes("~"))).toEqual([]);
      // The conversation's channel carries its bucket's hash tag, and both gateways hear it.
      const [room] = channels.filter((c) => c.includes(topic));
      expect(room).toMatch(/^hub:sio#\/#chat:sharded-1@o1\{chat-b\d+\}#$/);
      expect(await redis.call("PUBSUB", "SHARDNUMSUB", room as string)).toEqual([room, 2]);
    } finally {
      redis.disconnect();
    }
  });
});
