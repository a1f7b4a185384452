// The hub on a Sentinel-managed Redis: gateways and producers ask the Sentinels for the master,
// and follow a failover.
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  nextEvent,
  type RedisSentinelSet,
  request,
  startGateway,
  startRedisSentinel,
  userToken,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Audience, EventStream, expectOffsetOrder, STREAM_TYPE } from "./fault-traffic.js";

let sentinel: RedisSentinelSet;
let gateways: GatewayProcess[];
let producer: Redis;
let emitter: HubEmitter;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
  const env = { REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name };
  gateways = await Promise.all([1, 2].map((n) => startGateway({ ...env, HUB_NODE_ID: `sentinel-gw-${n}` })));
  producer = new Redis({ sentinels: sentinel.sentinelNodes, name: sentinel.name, maxRetriesPerRequest: null });
  // The failover refuses its connection for a while: the stream counts the failed publishes.
  producer.on("error", () => undefined);
  emitter = createHubEmitter({ redis: producer });
});
afterAll(async () => {
  producer?.disconnect();
  await Promise.all((gateways ?? []).map((g) => g.stop()));
  await sentinel?.stop();
});
afterEach(() => closeAllClients());

const gatewayAt = (i: number) => gateways[i] as GatewayProcess;

describe("the hub on Sentinel", () => {
  it("delivers across gateways and keeps history on the master the Sentinels name", async () => {
    const client = await connectClient(gatewayAt(1).url, await userToken({ sub: "s-u", org_id: "sen" }));
    await request(client, "subscribe", { topic: "org:sen" });
    const arrived = nextEvent(client, STREAM_TYPE, "sen-1");
    await emitter.publish({ id: "sen-1", type: STREAM_TYPE, org_id: "sen", payload: {} });
    expect(await arrived).toMatchObject({ id: "sen-1", topic: "org:sen", offset: 1 });
    const health = (await (await fetch(`${gatewayAt(0).url}/health`)).json()) as { redis: string };
    expect(health.redis).toBe("connected");
  });

  // Last: it kills the master (a replica takes over).
  it("a Sentinel failover under load: delivery resumes on the promoted replica, nothing is lost that a client is not told about", async () => {
    const orgs = ["sf-1", "sf-2", "sf-3"];
    const audience = await Audience.connect(gatewayAt(0).url, orgs, 8);
    const stream = new EventStream({ emitter, orgs, perTopicPerSecond: 10 });
    try {
      stream.start();
      await stream.advance(30);
      const old = await sentinel.master();
      await old.kill();
      const promoted = await sentinel.failedOver(old);
      expect(promoted.port).not.toBe(old.port);
      await stream.advance(60, 40_000);
      await stream.stop();
      await audience.caughtUp(stream, 40_000);
      for (const { member, topic, record } of audience.pairs()) {
        const label = `${member.name} on ${topic}`;
        const published = stream.published.get(topic) as string[];
        const got = record.events.map((e) => e.id);
        expectOffsetOrder(record.events, label);
        if (record.recoveryFailed === 0) expect(got, label).toEqual(published);
        else {
          expect(
            got.every((id) => published.includes(id)),
            label,
          ).toBe(true);
          expect(got.at(-1), label).toBe(published.at(-1));
        }
      }
      // The gateways lost their subscriber with the master: every client was told to recover.
      expect(audience.disconnected().length).toBeGreaterThan(0);
    } finally {
      await stream.abort();
      audience.close();
    }
  });
});
