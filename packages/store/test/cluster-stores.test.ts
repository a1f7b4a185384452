import { type RedisCluster, startRedisCluster } from "@hub/devkit";
import type { Envelope } from "@hub/events";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createPublisher,
  type DeadLetter,
  type DeadLetterReceipt,
  deadLetterOrg,
  hubKeys,
  overflowStreamName,
  redisDeadLetters,
  redisEventSink,
  redisHistory,
  replayDeadLetters,
} from "../src/index.js";

/**
 * The stores on a 6-process Redis Cluster through ioredis `Cluster` clients, as gateways and workers
 * use them: every script touches keys of one slot (Redis refuses anything else with CROSSSLOT), and
 * what spans orgs (listing dead letters, a source's stream cap) still sees every org.
 */

let cluster: RedisCluster;
/** Two clients: two "nodes" of the hub writing through different connections. */
let one: Cluster;
let two: Cluster;
const keys = hubKeys("c");

beforeAll(async () => {
  cluster = await startRedisCluster();
  one = new Cluster(cluster.startupNodes);
  two = new Cluster(cluster.startupNodes);
});

afterAll(async () => {
  await one?.quit();
  await two?.quit();
  await cluster?.stop();
});

beforeEach(async () => {
  await cluster.flush();
});

const slot = async (key: string) => Number(await one.cluster("KEYSLOT", key));

const letter = (orgId: string | undefined, overrides: Partial<DeadLetter> = {}): DeadLetter => ({
  source: "webhook",
  code: "invalid_event",
  message: "bad",
  issues: [],
  orgId,
  type: "match.any",
  raw: JSON.stringify({ org_id: orgId }),
  truncated: false,
  channel: undefined,
  receivedAt: Date.now(),
  ...overrides,
});

/** The masters serving the slots of these orgs' dead letters: the test is only worth something if there are several. */
async function mastersOf(orgs: readonly string[]): Promise<Set<number>> {
  const masters = await Promise.all(orgs.map((org) => cluster.masterOf(keys.deadLetterIndex(org))));
  return new Set(masters.map((node) => node.port));
}

describe("key slots on Redis Cluster", () => {
  it("puts every dead-letter key of one org in one slot, whatever its type, fingerprint or source", async () => {
    for (const stream of ["42:match.any", "42:roster.any", "_unknown", overflowStreamName("http"), overflowStreamName("legacy")]) {
      const org = deadLetterOrg(stream);
      const want = await slot(keys.deadLetterIndex(org));
      expect(await slot(keys.deadLetters(stream)), stream).toBe(want);
      expect(await slot(keys.deadLetterSeen(org, "0123abcd")), stream).toBe(want);
    }
    expect(deadLetterOrg("42:match.any")).toBe("42");
    expect(deadLetterOrg("_overflow:http")).toBe("_overflow");
    expect(deadLetterOrg("_unknown")).toBe("_unknown");
  });

  it("puts a topic's history stream, meta and cursor, dedupe keys and channel in one slot", async () => {
    for (const room of ["org:42", "notifications:42:u-7", "tournament:9"]) {
      const { stream, meta, cursor } = keys.history(room);
      const want = await slot(keys.topicChannel(room));
      for (const key of [stream, meta, cursor, keys.dedupe(room, "42", "evt-1")]) expect(await slot(key), key).toBe(want);
    }
  });

  it("puts a user's connections and revocation in one slot", async () => {
    expect(await slot(keys.userConnections("42", "u-7"))).toBe(await slot(keys.revocation("42", "u-7")));
  });
});

describe("dead letters on Redis Cluster", () => {
  it("writes, lists and pages the dead letters of orgs on every master", async () => {
    const orgs = Array.from({ length: 12 }, (_, i) => `org${String(i).padStart(2, "0")}`);
    expect((await mastersOf(orgs)).size).toBeGreaterThan(1);
    const writer = redisDeadLetters(one, keys);
    for (const org of orgs) {
      await writer.append(letter(org));
      await writer.append(letter(org, { type: "roster.any", source: "http" }));
    }
    await writer.append(letter(undefined, { stream: "_unknown", type: "ticket.sold" }));

    // Read through the other client, as another gateway would.
    const reader = redisDeadLetters(two, keys);
    const names = [...orgs.flatMap((org) => [`${org}:match.any`, `${org}:roster.any`]), "_unknown"].sort();
    expect(await reader.streams()).toEqual(names.map((stream) => ({ stream, length: 1 })));
    const paged: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await reader.streamPage({ limit: 5, ...(after === undefined ? {} : { after }) });
      paged.push(...page.streams.map((s) => s.stream));
      after = page.next;
      if (after === undefined) break;
    }
    expect(paged).toEqual(names);

    const [entry] = await reader.entries("org03:roster.any", { count: 10 });
    expect(entry).toMatchObject({ stream: "org03:roster.any", orgId: "org03", type: "roster.any", source: "http" });
    expect(await reader.remove("org03:roster.any", [entry?.id as string])).toBe(1);
    expect((await reader.streams()).map((s) => s.stream)).not.toContain("org03:roster.any");
  });

  it("records a fingerprinted input once however many nodes append it at once", async () => {
    const nodes = [redisDeadLetters(one, keys), redisDeadLetters(two, keys), redisDeadLetters(one, keys)];
    const inputs = ["a", "b", "c", "d"].map((org) => ({ org, fingerprint: `fp-${org}` }));
    const results = await Promise.all(
      inputs.flatMap(({ org, fingerprint }) => nodes.map((node) => node.append(letter(org, { source: "legacy" }), fingerprint))),
    );
    expect(results.filter((r) => r !== false)).toHaveLength(inputs.length);
    for (const { org } of inputs) expect(await one.xlen(keys.deadLetters(`${org}:match.any`))).toBe(1);
    // Input without an org is deduplicated too.
    const unknown = letter(undefined, { stream: "_unknown", source: "legacy" });
    const twice = await Promise.all(nodes.map((node) => node.append(unknown, "fp-unknown")));
    expect(twice.filter((r) => r !== false)).toEqual([{ stream: "_unknown", overflow: false }]);
  });

  it("caps a source's streams across every org, on every node, then fills its overflow stream", async () => {
    const cap = 5;
    const orgs = Array.from({ length: 20 }, (_, i) => `cap${i}`);
    expect((await mastersOf(orgs)).size).toBeGreaterThan(1);
    const [first, second] = [
      redisDeadLetters(one, keys, { maxStreamsPerSource: cap }),
      redisDeadLetters(two, keys, { maxStreamsPerSource: cap }),
    ];
    const receipts = await Promise.all(orgs.map((org, i) => (i % 2 ? second : first).append(letter(org))));
    const placed = receipts.filter((r): r is DeadLetterReceipt => r !== false);
    expect(placed).toHaveLength(orgs.length);
    const own = placed.filter((r) => !r.overflow).map((r) => r.stream);
    expect(own).toHaveLength(cap);
    expect(placed.filter((r) => r.overflow)).toEqual(Array.from({ length: 15 }, () => ({ stream: "_overflow:webhook", overflow: true })));
    // A stream the source has keeps taking its letters; another source has a budget of its own.
    expect(await second.append(letter(deadLetterOrg(own[0] as string)))).toEqual({ stream: own[0], overflow: false });
    const refused = orgs.find((org) => !own.includes(`${org}:match.any`)) as string;
    expect(await first.append(letter(refused, { source: "http" }))).toEqual({ stream: `${refused}:match.any`, overflow: false });

    const streams = await second.streams();
    expect(streams.find((s) => s.stream === "_overflow:webhook")).toEqual({ stream: "_overflow:webhook", length: 15 });
    expect(streams).toHaveLength(cap + 2);
    const overflowed = await first.entries("_overflow:webhook", { count: 100 });
    expect(new Set(overflowed.map((e) => e.orgId))).toEqual(new Set(orgs.filter((org) => !own.includes(`${org}:match.any`))));
  });
});

describe("replaying dead letters on Redis Cluster", () => {
  it("delivers what is valid now into its topic's history, removes it, and keeps what still fails", async () => {
    const deadLetters = redisDeadLetters(one, keys);
    const publisher = createPublisher({ sink: redisEventSink(one, keys), deadLetters });
    const valid = { id: "replay-1", type: "roster.player_hired", org_id: "42", payload: {} };
    const invalid = { id: "replay-2", type: "roster.player_hired", org_id: "42", payload: "not an object" };
    for (const event of [valid, invalid])
      await deadLetters.append(letter("42", { type: "roster.any", raw: JSON.stringify(event), source: "http" }));
    const ids = (await deadLetters.entries("42:roster.any", { count: 10 })).map((e) => e.id);

    const result = await replayDeadLetters(publisher, redisDeadLetters(two, keys), "42:roster.any", {
      contextOf: () => ({ source: "http" }),
    });
    expect(result.replayed).toEqual([ids[0]]);
    expect(result.failed).toEqual([{ id: ids[1], error: expect.objectContaining({ code: "invalid_event" }) }]);
    expect((await deadLetters.entries("42:roster.any", { count: 10 })).map((e) => e.id)).toEqual([ids[1]]);
    const read = await redisHistory(two, keys).read("org:42", { size: 200, ttlMs: 300_000 }, { fromCursor: true });
    expect(read.entries.map((e) => e.envelope.id)).toEqual(["replay-1"]);
  });
});

describe("history on Redis Cluster", () => {
  const policy = { size: 50, ttlMs: 60_000 };
  const envelope = (topic: string, id: string): Envelope => ({ id, type: "match.any", topic, org_id: "42", data: { id }, ts: Date.now() });

  it("appends, reads, recovers and acknowledges the topics of masters across the cluster", async () => {
    const topics = ["org:42", "tournament:1", "tournament:2", "tournament:3", "tournament:4", "tournament:5"];
    const masters = await Promise.all(topics.map((topic) => cluster.masterOf(keys.topicChannel(topic))));
    expect(new Set(masters.map((node) => node.port)).size).toBeGreaterThan(1);
    const sink = redisEventSink(one, keys);
    for (const id of ["e1", "e2", "e3"]) {
      // One event on every topic at once: one script per topic, each in its topic's slot.
      const outgoing = topics.map((topic) => ({ topic, clientEvent: "match.any", envelope: envelope(topic, id), history: policy }));
      expect(await sink.deliver({ orgId: "42", id }, outgoing)).toBe(true);
    }
    expect(
      await sink.deliver({ orgId: "42", id: "e3" }, [
        { topic: "org:42", clientEvent: "match.any", envelope: envelope("org:42", "e3"), history: policy },
      ]),
    ).toBe(false);

    const history = redisHistory(two, keys);
    for (const topic of topics) {
      const all = await history.read(topic, policy, { fromCursor: true });
      expect(all.position.offset).toBe(3);
      expect(all.entries.map((e) => [e.envelope.id, e.envelope.offset, e.envelope.topic])).toEqual([
        ["e1", 1, topic],
        ["e2", 2, topic],
        ["e3", 3, topic],
      ]);
      const since = await history.read(topic, policy, { since: { offset: 1, epoch: all.position.epoch } });
      expect(since.recovered).toBe(true);
      expect(since.entries.map((e) => e.envelope.id)).toEqual(["e2", "e3"]);

      expect(await history.acknowledge(topic, policy, 2, all.position.epoch)).toBe(2);
      expect(await history.acknowledge(topic, policy, 1)).toBe(2);
      const rest = await history.read(topic, policy, { fromCursor: true });
      expect(rest.entries.map((e) => e.envelope.id)).toEqual(["e3"]);
    }
  });
});
