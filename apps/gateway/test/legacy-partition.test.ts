import { randomBytes } from "node:crypto";
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  type HubClient,
  nextEvent,
  type RedisCluster,
  type RedisServer,
  request,
  serviceToken,
  startGateway,
  startRedis,
  startRedisCluster,
  until,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import type { Envelope } from "@hub/events";
import { hubKeys } from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rendezvousOwners } from "../src/ingest/rendezvous.js";
import { metricSum } from "./gateway-metrics.js";

/**
 * The legacy channel partitioned over the gateways (docs/operations.md "Legacy Redis channel"):
 * every gateway receives every `prostaff:events:<org>` message, but parses only those of the orgs
 * it is one of two rendezvous owners of, and clients still get each event exactly once, also while
 * a gateway dies and another joins. Real redis-server, real gateway processes, no mocks.
 *
 * "Finished" below is what a gateway's /metrics says it is done with: legacy messages processed
 * (`hub_events_ingested_total{source="legacy"}`) plus those skipped as another node's
 * (`hub_legacy_skipped_total`). Once every node has finished what it received, a sentinel published
 * after that reaches every client after any earlier broadcast (Redis pub/sub keeps order).
 */

const NODES = 4;
const ORGS = Array.from({ length: 40 }, (_, i) => 9_100 + i);
/** Heartbeats every second, grace two seconds: membership changes fit in a test. */
const MEMBERSHIP_TTL_MS = 4_000;

const legacyChannel = (org: number) => `prostaff:events:${org}`;
const fresh = () => randomBytes(5).toString("hex");
const nodeId = (n: number) => `lp-gw-${n}`;

interface Watcher {
  client: HubClient;
  /** Ids of the legacy events received, in arrival order (sentinels left out). */
  ids: string[];
  /** The org of each received event, in arrival order. */
  orgs: string[];
}

interface Live {
  gateway: GatewayProcess;
  id: string;
}

describe("legacy channel partitioned over the gateways", () => {
  let redis: RedisServer;
  let rails: Redis;
  let admin: Redis;
  let sdkRedis: Redis;
  let sdk: HubEmitter;
  let service: string;
  let live: Live[] = [];
  const started: GatewayProcess[] = [];

  async function startNode(n: number): Promise<Live> {
    const gateway = await startGateway({
      REDIS_URL: redis.url,
      HUB_NODE_ID: nodeId(n),
      LEGACY_MEMBERSHIP_TTL_MS: String(MEMBERSHIP_TTL_MS),
      // Each watcher subscribes to 40 org topics at once.
      SUBSCRIBE_RATE_PER_SECOND: "10000",
    });
    started.push(gateway);
    return { gateway, id: nodeId(n) };
  }

  const parsed = (gateway: GatewayProcess) => metricSum(gateway, "hub_events_ingested_total", 'source="legacy"');
  const skipped = (gateway: GatewayProcess) => metricSum(gateway, "hub_legacy_skipped_total");
  const finished = async (gateway: GatewayProcess) => (await parsed(gateway)) + (await skipped(gateway));

  async function untilFinished(gateway: GatewayProcess, count: number): Promise<void> {
    await until(`${gateway.url} to finish ${count} legacy messages`, async () => (await finished(gateway)) >= count, 30_000);
  }

  /** Gateway connections whose legacy PSUBSCRIBE is in effect. */
  async function legacySubscribers(): Promise<number> {
    const list = String(await admin.call("CLIENT", "LIST"));
    return list.split("\n").filter((line) => line.includes("name=hub-gateway-legacy") && / psub=1 /.test(line)).length;
  }

  /** Resolves once `node` processes only its own orgs among exactly `members` (its grace period over). */
  async function settledOn(node: Live, members: readonly string[]): Promise<void> {
    const wanted = [...members].sort().join(",");
    await node.gateway.waitForLog(
      (line) => line.msg === "legacy channel partition settled" && (line.members as string[] | undefined)?.join(",") === wanted,
    );
  }

  /** A service client on `node` subscribed to every org's topic. */
  async function watch(node: Live): Promise<Watcher> {
    const client = await connectClient(node.gateway.url, service);
    const watcher: Watcher = { client, ids: [], orgs: [] };
    client.on("roster.player_hired", (envelope: Envelope) => {
      watcher.ids.push(envelope.id);
      watcher.orgs.push(envelope.org_id);
    });
    for (const org of ORGS) expect(await request(client, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
    return watcher;
  }

  /** One Rails event per message, as `[channel, message, id]`. */
  function railsEvents(nonce: string, from: number, count: number): Array<{ channel: string; message: string; id: string; org: number }> {
    return Array.from({ length: count }, (_, k) => {
      const seq = from + k;
      const org = ORGS[seq % ORGS.length] as number;
      const id = `lp-${nonce}-${seq}`;
      const event = { id, type: "roster.player_hired", user_id: 7, org_id: org, payload: { seq }, published_at: new Date().toISOString() };
      return { channel: legacyChannel(org), message: JSON.stringify(event), id, org };
    });
  }

  /** PUBLISHes in one pipeline, in order; resolves with each message's receiver count. */
  async function publishLegacy(messages: ReadonlyArray<{ channel: string; message: string }>): Promise<number[]> {
    const pipeline = rails.pipeline();
    for (const { channel, message } of messages) pipeline.publish(channel, message);
    return ((await pipeline.exec()) ?? []).map(([error, receivers]) => {
      if (error) throw error;
      return receivers as number;
    });
  }

  /** Publishes a sentinel on the first org's topic and resolves once every watcher has it. */
  async function sentinel(watchers: readonly Watcher[]): Promise<void> {
    const id = `sentinel-${fresh()}`;
    const arrived = Promise.all(watchers.map((w) => nextEvent(w.client, "roster.sentinel", id)));
    await sdk.publish({ id, type: "roster.sentinel", org_id: ORGS[0] as number, payload: {} });
    await arrived;
  }

  /** What is wrong with a watcher's deliveries, compactly: nothing when every id came exactly once. */
  function exactlyOnce(got: readonly string[], expected: readonly string[]) {
    const counts = new Map<string, number>();
    for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
    const wanted = new Set(expected);
    return {
      received: got.length,
      duplicates: [...counts]
        .filter(([, n]) => n > 1)
        .map(([id]) => id)
        .slice(0, 5),
      missing: expected.filter((id) => !counts.has(id)).slice(0, 5),
      unexpected: got.filter((id) => !wanted.has(id)).slice(0, 5),
    };
  }
  const perfect = (expected: readonly string[]) => ({ received: expected.length, duplicates: [], missing: [], unexpected: [] });

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    rails = new Redis(redis.url);
    sdkRedis = new Redis(redis.url);
    sdk = createHubEmitter({ redis: sdkRedis });
    service = await serviceToken("legacy-partition-test");
    live = await Promise.all(Array.from({ length: NODES }, (_, i) => startNode(i + 1)));
    await until("every gateway's legacy PSUBSCRIBE", async () => (await legacySubscribers()) === NODES);
    await Promise.all(
      live.map((node) =>
        settledOn(
          node,
          live.map((n) => n.id),
        ),
      ),
    );
  });

  afterAll(async () => {
    closeAllClients();
    for (const client of [rails, admin, sdkRedis]) client?.disconnect();
    await Promise.all(started.map((g) => (g.child.exitCode === null && g.child.signalCode === null ? g.stop() : undefined)));
    await redis?.stop();
  });

  it("with 4 gateways, delivers 400 events over 40 orgs exactly once each, and each gateway parses only its orgs' (2 of 4 owners)", async () => {
    const nonce = fresh();
    const watchers = await Promise.all(live.map(watch));
    const events = railsEvents(nonce, 0, 400);
    const members = live.map((n) => n.id);
    const before = await Promise.all(live.map(async (n) => ({ parsed: await parsed(n.gateway), skipped: await skipped(n.gateway) })));

    const receivers = await publishLegacy(events);
    // Every gateway receives every message: the saving is in what they do with it.
    expect(receivers.every((n) => n === NODES)).toBe(true);
    await Promise.all(live.map((n, i) => untilFinished(n.gateway, (before[i]?.parsed ?? 0) + (before[i]?.skipped ?? 0) + events.length)));
    await sentinel(watchers);

    const ids = events.map((e) => e.id);
    for (const w of watchers) {
      expect(exactlyOnce(w.ids, ids)).toEqual(perfect(ids));
      // Each org's events in publish order (its owners process its channel in arrival order).
      for (const org of ORGS) {
        const ofOrg = events.filter((e) => e.org === org).map((e) => e.id);
        expect(w.ids.filter((_, i) => w.orgs[i] === String(org))).toEqual(ofOrg);
      }
    }

    // Each gateway parsed exactly the events of the orgs it is one of the two owners of, and skipped the rest.
    const counts = await Promise.all(
      live.map(async (n, i) => ({
        parsed: (await parsed(n.gateway)) - (before[i]?.parsed ?? 0),
        skipped: (await skipped(n.gateway)) - (before[i]?.skipped ?? 0),
      })),
    );
    const expected = live.map((n) => events.filter((e) => rendezvousOwners(e.channel, members, 2).includes(n.id)).length);
    expect(counts.map((c) => c.parsed)).toEqual(expected);
    expect(counts.map((c) => c.skipped)).toEqual(expected.map((n) => events.length - n));
    const total = counts.reduce((sum, c) => sum + c.parsed, 0);
    expect(total).toBe(2 * events.length);
    // About half each: nobody parses everything.
    for (const c of counts) {
      expect(c.parsed).toBeGreaterThan(events.length / 4);
      expect(c.parsed).toBeLessThan((events.length * 3) / 4);
    }
    console.info(`parsed per gateway: ${counts.map((c) => c.parsed).join(", ")} of ${events.length} events (sum ${total})`);
  });

  // Last: it kills a gateway and starts another.
  it("loses and repeats nothing while a gateway is SIGKILLed and another joins under a steady stream", async () => {
    const nonce = fresh();
    const [victim, ...survivors] = live as [Live, ...Live[]];
    const watchers = await Promise.all(survivors.map(watch));
    const baseline = await Promise.all(survivors.map((n) => finished(n.gateway)));

    const published: Array<{ id: string; receivers: number; afterVictimGone: boolean }> = [];
    let victimGone = false;
    let stopping = false;
    let seq = 0;
    // The stream: 10 events per pipeline, paced by a short pause (load shape, not synchronization).
    const stream = (async () => {
      while (!stopping) {
        const batch = railsEvents(nonce, seq, 10);
        seq += batch.length;
        const gone = victimGone;
        const receivers = await publishLegacy(batch);
        published.push(...batch.map((e, i) => ({ id: e.id, receivers: receivers[i] ?? 0, afterVictimGone: gone })));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const delivered = (count: number) =>
      until(`every watcher to have ${count} events`, async () => watchers.every((w) => w.ids.length >= count), 20_000);

    try {
      await delivered(200);
      await victim.gateway.kill();
      await until("the dead gateway's legacy subscription to close", async () => (await legacySubscribers()) === NODES - 1);
      victimGone = true;
      const joined = await startNode(NODES + 1);
      const members = [...survivors, joined].map((n) => n.id);
      // The survivors drop the dead one after the TTL, take the newcomer in, and finish their grace.
      await Promise.all([...survivors, joined].map((n) => settledOn(n, members)));
      const settledAt = published.length;
      await delivered(settledAt + 200);
      stopping = true;
      await stream;

      // Every survivor received every message of the stream; the newcomer, those published once it
      // was subscribed (the only fourth receiver once the dead one's connection was gone).
      await Promise.all(survivors.map((n, i) => untilFinished(n.gateway, (baseline[i] ?? 0) + published.length)));
      const joinedReceived = published.filter((p) => p.afterVictimGone && p.receivers === NODES).length;
      await untilFinished(joined.gateway, joinedReceived);
      await sentinel(watchers);

      const ids = published.map((p) => p.id);
      for (const w of watchers) expect(exactlyOnce(w.ids, ids)).toEqual(perfect(ids));
      // The membership change happened under traffic, and the newcomer took over its share.
      expect(settledAt).toBeGreaterThan(200);
      expect(published.length).toBeGreaterThan(settledAt);
      expect(joinedReceived).toBeGreaterThan(0);
      expect(await parsed(joined.gateway)).toBeGreaterThan(0);
      expect(await skipped(joined.gateway)).toBeGreaterThan(0);
      console.info(
        `stream of ${published.length} events; settled on ${members.join(", ")} after ${settledAt}; the newcomer received ${joinedReceived}, parsed ${await parsed(joined.gateway)}`,
      );
      live = [...survivors, joined];
    } finally {
      stopping = true;
      await stream;
    }
  }, 90_000);

  // After the SIGKILL test: it stops the gateway that joined there.
  it("removes a gateway that shuts down from the membership at once, and the others share its orgs", async () => {
    const leaving = live.at(-1) as Live;
    const staying = live.slice(0, -1);
    const keys = hubKeys();
    expect(await admin.zscore(keys.ingestNodes, leaving.id)).not.toBeNull();
    expect(await leaving.gateway.stop()).toBe(0);
    // Gone before the TTL could have expired it: the others need not wait for it.
    expect(await admin.zscore(keys.ingestNodes, leaving.id)).toBeNull();
    await Promise.all(
      staying.map((node) =>
        settledOn(
          node,
          staying.map((n) => n.id),
        ),
      ),
    );
    live = staying;
  });
});

/**
 * The same on a 6-process Redis Cluster with sharded pub/sub: Rails PUBLISHes on a plain connection
 * to one node (classic pub/sub reaches every node of a cluster), the membership is one key, and each
 * gateway still parses only its orgs' messages. Broadcasts go out per topic on SPUBLISH, which keeps
 * no order between topics: the sentinels go to every org's topic.
 */
describe("legacy channel partitioned over gateways on Redis Cluster", () => {
  const GATEWAYS = 3;
  const CLUSTER_ORGS = ORGS.slice(0, 12);
  let cluster: RedisCluster;
  let rails: Redis;
  let sdkRedis: Cluster;
  let sdk: HubEmitter;
  let service: string;
  let gateways: Array<{ gateway: GatewayProcess; id: string }> = [];

  const parsed = (gateway: GatewayProcess) => metricSum(gateway, "hub_events_ingested_total", 'source="legacy"');
  const skipped = (gateway: GatewayProcess) => metricSum(gateway, "hub_legacy_skipped_total");

  beforeAll(async () => {
    cluster = await startRedisCluster();
    rails = new Redis((cluster.nodes[0] as { url: string }).url);
    sdkRedis = new Cluster(cluster.startupNodes);
    sdk = createHubEmitter({ redis: sdkRedis });
    service = await serviceToken("legacy-partition-cluster-test");
    gateways = await Promise.all(
      Array.from({ length: GATEWAYS }, async (_, i) => ({
        id: `lpc-gw-${i + 1}`,
        gateway: await startGateway({
          REDIS_CLUSTER_NODES: cluster.seeds,
          HUB_PUBSUB: "sharded",
          HUB_NODE_ID: `lpc-gw-${i + 1}`,
          LEGACY_MEMBERSHIP_TTL_MS: String(MEMBERSHIP_TTL_MS),
          SUBSCRIBE_RATE_PER_SECOND: "10000",
        }),
      })),
    );
    const members = gateways
      .map((g) => g.id)
      .sort()
      .join(",");
    await Promise.all(
      gateways.map((g) =>
        g.gateway.waitForLog(
          (line) => line.msg === "legacy channel partition settled" && (line.members as string[] | undefined)?.join(",") === members,
        ),
      ),
    );
  });

  afterAll(async () => {
    closeAllClients();
    rails?.disconnect();
    sdkRedis?.disconnect();
    await Promise.all(gateways.map((g) => g.gateway.stop()));
    await cluster?.stop();
  });

  it("delivers every legacy event exactly once, in its org's order, and each gateway parses only its orgs' (2 of 3 owners)", async () => {
    const nonce = fresh();
    const watchers = await Promise.all(
      gateways.map(async ({ gateway }) => {
        const client = await connectClient(gateway.url, service);
        const watcher: Watcher = { client, ids: [], orgs: [] };
        client.on("roster.player_hired", (envelope: Envelope) => {
          watcher.ids.push(envelope.id);
          watcher.orgs.push(envelope.org_id);
        });
        for (const org of CLUSTER_ORGS) expect(await request(client, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
        return watcher;
      }),
    );
    const events = Array.from({ length: 240 }, (_, seq) => {
      const org = CLUSTER_ORGS[seq % CLUSTER_ORGS.length] as number;
      const id = `lpc-${nonce}-${seq}`;
      const event = { id, type: "roster.player_hired", user_id: 7, org_id: org, payload: { seq }, published_at: new Date().toISOString() };
      return { channel: legacyChannel(org), message: JSON.stringify(event), id, org };
    });
    const before = await Promise.all(
      gateways.map(async ({ gateway }) => ({ parsed: await parsed(gateway), skipped: await skipped(gateway) })),
    );

    const pipeline = rails.pipeline();
    for (const { channel, message } of events) pipeline.publish(channel, message);
    for (const [error] of (await pipeline.exec()) ?? []) expect(error).toBeNull();
    // Every gateway receives every message, whichever node it subscribed on.
    await Promise.all(
      gateways.map(({ gateway }, i) =>
        until(
          `${gateway.url} to finish ${events.length} legacy messages`,
          async () =>
            (await parsed(gateway)) + (await skipped(gateway)) >= (before[i]?.parsed ?? 0) + (before[i]?.skipped ?? 0) + events.length,
          30_000,
        ),
      ),
    );
    // A sentinel on every org's topic: each proves its topic's earlier broadcasts have arrived.
    for (const org of CLUSTER_ORGS) {
      const id = `sentinel-${fresh()}`;
      const arrived = Promise.all(watchers.map((w) => nextEvent(w.client, "roster.sentinel", id)));
      await sdk.publish({ id, type: "roster.sentinel", org_id: org, payload: {} });
      await arrived;
    }

    const ids = events.map((e) => e.id);
    for (const w of watchers) {
      expect(new Set(w.ids).size).toBe(w.ids.length);
      expect([...w.ids].sort()).toEqual([...ids].sort());
      for (const org of CLUSTER_ORGS) {
        expect(w.ids.filter((_, i) => w.orgs[i] === String(org))).toEqual(events.filter((e) => e.org === org).map((e) => e.id));
      }
    }
    const members = gateways.map((g) => g.id);
    const counts = await Promise.all(gateways.map(async ({ gateway }, i) => (await parsed(gateway)) - (before[i]?.parsed ?? 0)));
    expect(counts).toEqual(members.map((m) => events.filter((e) => rendezvousOwners(e.channel, members, 2).includes(m)).length));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2 * events.length);
    console.info(`on Redis Cluster, parsed per gateway: ${counts.join(", ")} of ${events.length} events`);
  });
});
