// The sharded subscriber on a real redis-server: reference counts, follow, barrier and gaps.
import { type RedisServer, startRedis, until } from "@hub/devkit";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ShardSubscriber } from "../src/engine/shard-subscriber.js";

let redis: RedisServer;
let admin: Redis;
let subscriber: ShardSubscriber | undefined;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});
afterEach(() => subscriber?.close());

function open(): ShardSubscriber {
  subscriber = new ShardSubscriber({
    cluster: undefined,
    connect: () => new Redis(redis.url, { connectionName: "shard-test-sub", retryStrategy: () => 50 }),
    logger: pino({ level: "silent" }),
  });
  return subscriber;
}

async function subscribers(channel: string): Promise<number> {
  const [, count] = (await admin.call("PUBSUB", "SHARDNUMSUB", channel)) as [string, number];
  return count;
}

describe("ShardSubscriber", () => {
  it("shares one SSUBSCRIBE between the adapter's subscription and follows, and ends it with the last", async () => {
    const shards = open();
    await shards.ssubscribe("c1");
    const release = await shards.follow("c1");
    const again = await shards.follow("c1");
    expect(await subscribers("c1")).toBe(1);
    release();
    release(); // twice is once
    await shards.sunsubscribe("c1");
    expect(await subscribers("c1")).toBe(1);
    again();
    await until("the last reference to end the subscription", async () => (await subscribers("c1")) === 0);
  });

  it("follow resolves once the subscription is in effect: a message published right after arrives, before the barrier", async () => {
    const shards = open();
    const seen: string[] = [];
    shards.on("smessageBuffer", (channel: Buffer, message: Buffer) => seen.push(`${channel}:${message}`));
    const release = await shards.follow("c2");
    await admin.spublish("c2", "m1");
    await shards.barrier("c2");
    expect(seen).toEqual(["c2:m1"]);
    release();
  });

  it("a follow let go before its SSUBSCRIBE was answered leaves no subscription behind", async () => {
    const shards = open();
    const pending = shards.follow("c3");
    (await pending)();
    for (let i = 0; i < 20; i++) (await shards.follow("c3"))();
    await until("no subscriber on c3", async () => (await subscribers("c3")) === 0);
  });

  it("a dropped connection is a gap at once (with its channels), moves the generation, and follow works again once it is back", async () => {
    const shards = open();
    await shards.ssubscribe("c4");
    await shards.ssubscribe("c5");
    const before = shards.generation("c4");
    const gaps: string[][] = [];
    const told = new Promise<void>((resolve) =>
      shards.onGap((channels) => {
        gaps.push([...channels].sort());
        resolve();
      }),
    );
    await admin.client("KILL", "USER", "default", "SKIPME", "yes");
    await told;
    expect(gaps[0]).toEqual(["c4", "c5"]);
    expect(shards.generation("c4")).not.toBe(before);
    // Back: ioredis subscribes again, and follow works once the PING after it was answered.
    const release = await until("follow to work again", () => shards.follow("c4").catch(() => undefined));
    expect(await subscribers("c4")).toBe(1);
    expect(await subscribers("c5")).toBe(1);
    release();
  });
});
