import { randomBytes } from "node:crypto";
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from "@hub/devkit";
import { type ProducerEvent, PublishError } from "@hub/events";
import {
  createBroadcastEncoder,
  createPublishBatcher,
  DEDUPE_WINDOW_MS,
  decodeBroadcast,
  hubKeys,
  type PublishResult,
  type RedisClient,
} from "@hub/store";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubEmitter } from "../src/index.js";

/**
 * The SDK keeps many publishes in flight; the Redis sink coalesces those queued in one event-loop
 * turn into one publish script call per hash tag (publishBatch-n.lua). These tests start hundreds of
 * publishes in one turn, over several topics (each its own slot), with duplicates, ids repeated on
 * other topics and invalid events mixed in, and check that every caller gets its own event's result,
 * and that each topic's history (which is what its clients receive, in the same script) holds its
 * events once, in call order, with consecutive offsets. On one redis-server and on a Redis Cluster
 * (where a call with keys of two slots is refused with CROSSSLOT).
 */

const keys = hubKeys("hub");
const fresh = () => randomBytes(4).toString("hex");

interface Planned {
  event: ProducerEvent;
  /** The org (and so topic `org:<org>`) it goes to; undefined for an invalid event. */
  org?: string;
  duplicate?: boolean;
}

/**
 * 300 events over 3 orgs in call order, in runs of 20 per org (consecutive publishes on one topic
 * share calls): every 7th repeats the id of its org's event 3 before (a duplicate), every 11th is
 * repeated on another org (not one: ids are deduplicated per topic), every 50th is invalid.
 */
function plan(orgs: readonly string[]): Planned[] {
  const planned: Planned[] = [];
  const idsOf = new Map<string, string[]>(orgs.map((org) => [org, []]));
  for (let i = 0; i < 300; i++) {
    const org = orgs[Math.floor(i / 20) % orgs.length] as string;
    const ids = idsOf.get(org) as string[];
    planned.push({ event: { id: `e${i}`, type: "roster.batch_test", org_id: org, payload: { i } }, org });
    ids.push(`e${i}`);
    const earlier = ids.at(-4);
    if (i % 7 === 6 && earlier !== undefined) {
      planned.push({ event: { id: earlier, type: "roster.batch_test", org_id: org, payload: { again: i } }, org, duplicate: true });
    }
    if (i % 11 === 0) {
      const other = orgs[(orgs.indexOf(org) + 1) % orgs.length] as string;
      planned.push({ event: { id: `e${i}`, type: "roster.batch_test", org_id: other, payload: { elsewhere: i } }, org: other });
    }
    if (i % 50 === 49) planned.push({ event: { id: `bad${i}`, type: "roster.batch_test", org_id: org } as unknown as ProducerEvent });
  }
  return planned;
}

/** A topic's history as stored: entry ids and the envelopes of the broadcasts. */
async function history(redis: RedisClient, org: string): Promise<Array<{ entry: string; id: string; offset: number; epoch: string }>> {
  const entries = await redis.xrangeBuffer(keys.history(`org:${org}`).stream, "-", "+");
  return entries.map(([entry, fields]) => {
    const envelope = decodeBroadcast(fields[1] as Buffer)?.envelope as { id: string; offset: number; epoch: string };
    return { entry: entry.toString(), id: envelope.id, offset: envelope.offset, epoch: envelope.epoch };
  });
}

/** Script calls (EVALSHA, and EVAL when a script was not loaded yet) on every master since the last reset. */
async function scriptCalls(nodes: readonly Redis[]): Promise<number> {
  let calls = 0;
  for (const node of nodes) {
    const stats = await node.info("commandstats");
    for (const m of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1]);
  }
  return calls;
}

interface Target {
  redis: RedisClient;
  masters(): Redis[];
  stop(): Promise<void>;
}

const targets: Array<[string, () => Promise<Target>]> = [
  [
    "one redis-server",
    async () => {
      const server: RedisServer = await startRedis();
      const redis = new Redis(server.url);
      return {
        redis,
        masters: () => [redis],
        stop: async () => {
          await redis.quit();
          await server.stop();
        },
      };
    },
  ],
  [
    "Redis Cluster",
    async () => {
      const cluster: RedisCluster = await startRedisCluster();
      const redis = new Cluster(cluster.startupNodes);
      return {
        redis,
        masters: () => redis.nodes("master"),
        stop: async () => {
          await redis.quit();
          await cluster.stop();
        },
      };
    },
  ],
];

describe.each(targets)("publishes coalesced into script calls, on %s", (_name, start) => {
  let target: Target;

  beforeAll(async () => {
    target = await start();
  });

  afterAll(async () => {
    await target?.stop();
  });

  it("gives every caller its own event's result, and each topic its events once, in call order", async () => {
    const orgs = [`a${fresh()}`, `b${fresh()}`, `c${fresh()}`];
    const hub = createHubEmitter({ redis: target.redis });
    // Scripts loaded before counting calls.
    await hub.publish({ type: "roster.batch_test", org_id: `warm${fresh()}`, payload: {} });
    for (const node of target.masters()) await node.config("RESETSTAT");

    const planned = plan(orgs);
    // All started in one turn: the sink sees them together.
    const settled = await Promise.allSettled(planned.map((p) => hub.publish(p.event)));

    settled.forEach((outcome, i) => {
      const p = planned[i] as Planned;
      if (p.org === undefined) {
        expect(outcome.status, `event ${i}`).toBe("rejected");
        const reason = (outcome as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(PublishError);
        expect((reason as PublishError).code).toBe("invalid_event");
        return;
      }
      expect(outcome.status, `event ${i}`).toBe("fulfilled");
      const result = (outcome as PromiseFulfilledResult<PublishResult>).value;
      expect(result, `event ${i}`).toEqual({ id: p.event.id, topics: [`org:${p.org}`], duplicate: p.duplicate === true });
    });

    for (const org of orgs) {
      const expected = planned.filter((p) => p.org === org && !p.duplicate).map((p) => p.event.id);
      const stored = await history(target.redis, org);
      // The built-in org namespace keeps 200 events: the last 200 of the topic, in call order.
      const kept = expected.slice(-200);
      expect(stored.map((s) => s.id)).toEqual(kept);
      const first = expected.length - kept.length + 1;
      expect(stored.map((s) => s.offset)).toEqual(kept.map((_, k) => first + k));
      expect(stored.map((s) => s.entry)).toEqual(kept.map((_, k) => `${first + k}-0`));
      expect(new Set(stored.map((s) => s.epoch)).size).toBe(1);
    }

    // Coalesced: far fewer script calls than deliveries (the invalid events' dead letters included).
    const deliveries = planned.filter((p) => p.org !== undefined).length;
    expect(deliveries).toBeGreaterThan(300);
    expect(await scriptCalls(target.masters())).toBeLessThan(deliveries / 4);
  });

  it("fails only the deliveries whose topic cannot take them, in a call shared with another topic of the slot", async () => {
    // Two rooms of one hash tag (a client-event bucket's, as `roomOf` gives streamed rooms): one call.
    const tag = `t${fresh()}`;
    const [good, broken] = [`chat:good{${tag}}`, `chat:broken{${tag}}`];
    // A key of the wrong type where the broken topic's history meta should be.
    await target.redis.set(keys.history(broken).meta, "not a hash");
    const encode = createBroadcastEncoder(keys);
    const publish = createPublishBatcher(target.redis, { windowMs: DEDUPE_WINDOW_MS, salt: "tst", sharded: "0" });
    for (const node of target.masters()) await node.config("RESETSTAT");
    const history = { size: 200, ttlMs: 60_000 };
    const settled = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => {
        const room = i % 2 === 0 ? good : broken;
        const envelope = { id: `m${i}`, type: "message:new", topic: room, org_id: "1", data: { i }, ts: Date.now() };
        const [encoded] = encode([{ topic: room, clientEvent: "message:new", envelope, history }]);
        const { stream, meta } = keys.history(room);
        return publish({
          dedupe: keys.dedupe(room, "1", `m${i}`),
          stream,
          meta,
          channel: encoded?.channel as string,
          message: encoded?.message as Buffer,
          offsetAt: (encoded?.offsetAt as number) + 1,
          historySize: history.size,
          historyTtlMs: history.ttlMs,
        });
      }),
    );
    settled.forEach((outcome, i) => {
      if (i % 2 === 0) {
        expect(outcome, `delivery ${i}`).toEqual({ status: "fulfilled", value: 1 });
      } else {
        expect(outcome.status, `delivery ${i}`).toBe("rejected");
        expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
      }
    });
    // One call carried both topics' deliveries.
    expect(await scriptCalls(target.masters())).toBe(1);
    const stored = await target.redis.xrangeBuffer(keys.history(good).stream, "-", "+");
    const offsets = stored.map(([, fields]) => decodeBroadcast(fields[1] as Buffer)?.envelope.offset);
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
  });

  it("delivers the first of two publishes of one id in one turn and reports the second a duplicate", async () => {
    const org = `d${fresh()}`;
    const hub = createHubEmitter({ redis: target.redis });
    const event = { id: "same", type: "roster.batch_test", org_id: org, payload: {} };
    const [first, second] = await Promise.all([hub.publish(event), hub.publish({ ...event, payload: { other: true } })]);
    expect(first?.duplicate).toBe(false);
    expect(second?.duplicate).toBe(true);
    expect((await history(target.redis, org)).map((s) => [s.id, s.offset])).toEqual([["same", 1]]);
  });
});
