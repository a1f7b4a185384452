// Sharded pub/sub on a Redis Cluster: a gateway receives only the broadcasts of rooms it has
// members of, and a master failover under load loses nothing a client is not told about.
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  nextEvent,
  type RedisCluster,
  request,
  startGateway,
  startRedisCluster,
  until,
  userToken,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import { hubKeys } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Audience, EventStream, expectOffsetOrder, STREAM_TYPE } from "./fault-traffic.js";
import { metricOn } from "./gateway-metrics.js";

const keys = hubKeys();
const RECEIVED = "hub_pubsub_messages_total";

let cluster: RedisCluster;
let gateways: GatewayProcess[];
let producer: Cluster;
let emitter: HubEmitter;

beforeAll(async () => {
  cluster = await startRedisCluster();
  gateways = await Promise.all(
    [1, 2, 3].map((n) => startGateway({ REDIS_CLUSTER_NODES: cluster.seeds, HUB_NODE_ID: `sharded-gw-${n}`, PRESENCE_TTL_MS: "4000" })),
  );
  producer = new Cluster(cluster.startupNodes);
  emitter = createHubEmitter({ redis: producer });
});
afterAll(async () => {
  producer?.disconnect();
  await Promise.all((gateways ?? []).map((g) => g.stop()));
  await cluster?.stop();
});
afterEach(() => closeAllClients());

/** Subscribers of a topic's channel on the master that serves it (sharded channels live on one shard). */
async function shardSubscribers(room: string): Promise<number> {
  const channel = keys.topicChannel(room);
  const master = await cluster.masterOf(channel);
  const client = new Redis(master.url, { lazyConnect: true });
  try {
    const [, count] = (await client.call("PUBSUB", "SHARDNUMSUB", channel)) as [string, number];
    return count;
  } finally {
    client.disconnect();
  }
}

const hire = (org: string, id: string) => emitter.publish({ id, type: STREAM_TYPE, org_id: org, payload: {} });
const gatewayAt = (i: number) => gateways[i] as GatewayProcess;

describe("sharded pub/sub on Redis Cluster", () => {
  it("a gateway with no member of a topic receives none of its broadcasts", async () => {
    const a = await connectClient(gatewayAt(0).url, await userToken({ sub: "u-a", org_id: "iso-a" }));
    const b = await connectClient(gatewayAt(1).url, await userToken({ sub: "u-b", org_id: "iso-b" }));
    await request(a, "subscribe", { topic: "org:iso-a" });
    await request(b, "subscribe", { topic: "org:iso-b" });
    expect(await shardSubscribers("org:iso-a")).toBe(1);
    expect(await shardSubscribers("org:iso-b")).toBe(1);
    expect(await shardSubscribers("org:iso-c")).toBe(0);

    // Once the subscriptions' own announcements went by, count what each gateway receives.
    const warm = nextEvent(a, STREAM_TYPE, "iso-warm");
    await hire("iso-a", "iso-warm");
    await warm;
    const before = await Promise.all(gateways.map((g) => metricOn(g, RECEIVED)));
    const last = nextEvent(a, STREAM_TYPE, "iso-50");
    for (let i = 1; i <= 50; i++) await hire("iso-a", `iso-${i}`);
    await hire("iso-c", "nobody-listens");
    await last;
    const after = await Promise.all(gateways.map((g) => metricOn(g, RECEIVED)));
    expect((after[0] as number) - (before[0] as number)).toBeGreaterThanOrEqual(50);
    expect(after[1]).toBe(before[1]);
    expect(after[2]).toBe(before[2]);
  });

  it("subscriptions follow membership: one per gateway with members, none once the last leaves", async () => {
    const token = await userToken({ sub: "u-m", org_id: "iso-m" });
    const first = await connectClient(gatewayAt(0).url, token);
    const second = await connectClient(gatewayAt(2).url, token);
    const third = await connectClient(gatewayAt(2).url, token);
    for (const client of [first, second, third]) await request(client, "subscribe", { topic: "org:iso-m" });
    expect(await shardSubscribers("org:iso-m")).toBe(2);
    await request(second, "unsubscribe", { topic: "org:iso-m" });
    expect(await shardSubscribers("org:iso-m")).toBe(2);
    third.close();
    await until("gateway 3 to leave the channel", async () => (await shardSubscribers("org:iso-m")) === 1);
    first.close();
    await until("the channel to have no subscriber", async () => (await shardSubscribers("org:iso-m")) === 0);
  });

  it("a catch-up on a gateway with no member follows the channel while it reads, then lets go", async () => {
    const org = "iso-r";
    for (let i = 1; i <= 5; i++) await hire(org, `r-${i}`);
    const client = await connectClient(gatewayAt(1).url, await userToken({ sub: "u-r", org_id: org }));
    const replayed: string[] = [];
    client.on(STREAM_TYPE, (envelope: { id: string }) => replayed.push(envelope.id));
    const ack = await request<{ offset: number; recovered: boolean }>(client, "subscribe", {
      topic: `org:${org}`,
      since: { offset: 2, epoch: (await firstEpoch(org)) as string },
    });
    expect(ack).toMatchObject({ recovered: true, offset: 5 });
    expect(replayed).toEqual(["r-3", "r-4", "r-5"]);
    expect(await shardSubscribers(`org:${org}`)).toBe(1);
    await request(client, "unsubscribe", { topic: `org:${org}` });
    await until("the catch-up's subscription to end", async () => (await shardSubscribers(`org:${org}`)) === 0);
  });

  // Last: it kills a master (the cluster stays healthy on the promoted replica).
  it("a master failover under load: delivery resumes with the cluster, nothing is lost that a client is not told about", async () => {
    const orgs = ["fo-1", "fo-2", "fo-3", "fo-4", "fo-5", "fo-6"];
    const victim = await cluster.masterOf(keys.topicChannel("org:fo-1"));
    const onVictim = new Set<string>();
    for (const org of orgs) if ((await cluster.masterOf(keys.topicChannel(`org:${org}`))).port === victim.port) onVictim.add(`org:${org}`);
    const audiences = [await Audience.connect(gatewayAt(0).url, orgs, 12), await Audience.connect(gatewayAt(1).url, orgs, 12)];
    const stream = new EventStream({ emitter, orgs, perTopicPerSecond: 10 });
    // Readiness through the failover: one master's loss cuts its topics, not the gateways.
    const notReady: string[] = [];
    let watching = true;
    const readiness = (async () => {
      while (watching) {
        for (const g of gateways) {
          const res = await fetch(`${g.url}/health/ready`).catch(() => undefined);
          if (res?.status !== 200) notReady.push(`${g.url}: ${res?.status} ${await res?.text()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      stream.start();
      await stream.advance(60);
      await victim.kill();
      await cluster.healthy(30_000);
      await stream.advance(120, 40_000);
      await stream.stop();
      for (const audience of audiences) await audience.caughtUp(stream, 40_000);

      watching = false;
      await readiness;
      expect(notReady).toEqual([]);
      // The lost master's rooms were cut off and their sockets closed (they recovered from history).
      expect(audiences.flatMap((a) => a.disconnected()).length).toBeGreaterThan(0);
      for (const audience of audiences) {
        for (const { member, topic, record } of audience.pairs()) {
          const label = `${member.name} on ${topic}`;
          const published = stream.published.get(topic) as string[];
          const got = record.events.map((e) => e.id);
          expectOffsetOrder(record.events, label);
          if (record.recoveryFailed === 0) {
            // Recovered from the promoted replica (or never interrupted): every event, once, in order.
            expect(got, label).toEqual(published);
          } else {
            // Told `recovered: false`: whatever it got is real and once, and it has everything since.
            expect(
              got.every((id) => published.includes(id)),
              label,
            ).toBe(true);
            expect(got.at(-1), label).toBe(published.at(-1));
          }
        }
        // Only the rooms whose channel lived on the lost master were interrupted.
        for (const member of audience.members) {
          if ([...member.topics.keys()].every((topic) => !onVictim.has(topic))) expect(member.disconnects, member.name).toEqual([]);
        }
      }
    } finally {
      watching = false;
      await stream.abort();
      for (const audience of audiences) audience.close();
    }
  });
});

/** The epoch of an org topic's history, read as a subscriber would see it. */
async function firstEpoch(org: string): Promise<string | undefined> {
  const client = await connectClient(gatewayAt(2).url, await userToken({ sub: "u-epoch", org_id: org }));
  const ack = await request<{ epoch: string }>(client, "subscribe", { topic: `org:${org}` });
  client.close();
  return ack.epoch;
}
