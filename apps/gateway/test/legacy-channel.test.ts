import { randomBytes } from "node:crypto";
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  type HubClient,
  nextEvent,
  type RedisServer,
  request,
  serviceToken,
  startGateway,
  startRedis,
  until,
  userToken,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import type { Envelope } from "@hub/events";
import { type DeadLetterEntry, hubKeys, redisDeadLetters } from "@hub/store";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * The legacy Redis channel (docs/protocol.md "Producers" 2): the Rails backend does
 * `PUBLISH prostaff:events:{org_id} <json>` on a plain Redis connection, every gateway PSUBSCRIBEs
 * the pattern (and processes the orgs it owns: legacy-partition.test.ts), and each subscribed
 * client still receives each event exactly once, in order.
 * Real redis-server, three real gateway processes, no mocks.
 *
 * No sleeps: "nothing else arrives" is proven by waiting until every node has finished the legacy
 * messages (its `hub_events_ingested_total{source="legacy"}` counter in /metrics) and then awaiting a
 * sentinel published after them; Redis pub/sub keeps order, so any earlier copy is in by then.
 */

const SCRAPER_API_KEY = "legacy-channel-test-scraper-key";
const NODES = 3;
/** Every key an envelope may carry (docs/protocol.md "Routing table"). */
const ENVELOPE_KEYS = new Set(["id", "type", "topic", "org_id", "data", "ts", "offset", "epoch"]);
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const legacyChannel = (org: number | string) => `prostaff:events:${org}`;
/** A fresh lowercase token, so every test has its own ids, topics and dead-letter entries. */
const fresh = () => randomBytes(5).toString("hex");

/** The Rails envelope: `{ id, type, user_id, org_id, payload, published_at }`, integer ids, ISO time. */
interface RailsEvent {
  id?: string;
  type: string;
  user_id: number | null;
  org_id: number;
  payload: Record<string, unknown>;
  published_at: string;
}

function railsEvent(fields: Omit<RailsEvent, "published_at" | "user_id"> & { user_id?: number | null }): RailsEvent {
  return { user_id: null, ...fields, published_at: new Date().toISOString() };
}

type StreamList = { streams: Array<{ stream: string; length: number }> };
type ReplayBody = { replayed: string[]; failed: Array<{ id: string; error: { code: string; message: string } }> };

/** One client event as it arrived, in arrival order. */
interface Received {
  event: string;
  envelope: Envelope;
}

interface Watcher {
  client: HubClient;
  /** Index of the gateway it is connected to. */
  node: number;
  /** The topics it subscribed to. */
  topics: readonly string[];
  /** Everything the socket received, in order (every event name). */
  seen: Received[];
}

describe("legacy Redis channel on three gateway nodes", () => {
  let redis: RedisServer;
  let gateways: GatewayProcess[] = [];
  /** The Rails backend's connection: it only PUBLISHes. */
  let rails: Redis;
  /** Inspection: CLIENT LIST, XRANGE. */
  let admin: Redis;
  /** The emitter SDK's own connection, for sentinels and the cross-path duplicates. */
  let sdkRedis: Redis;
  let sdk: HubEmitter;
  let service: string;

  const startNode = (n: number) => startGateway({ REDIS_URL: redis.url, HUB_NODE_ID: `legacy-gw-${n}`, SCRAPER_API_KEY });
  const node = (i: number): GatewayProcess => {
    const gateway = gateways[i];
    if (!gateway) throw new Error(`no gateway ${i}`);
    return gateway;
  };

  /** Gateway connections whose legacy PSUBSCRIBE is in effect (the `ready` log line does not wait for it). */
  async function legacySubscribers(): Promise<number> {
    const list = String(await admin.call("CLIENT", "LIST"));
    return list.split("\n").filter((line) => line.includes("name=hub-gateway-legacy") && / psub=1 /.test(line)).length;
  }

  /**
   * Legacy messages this gateway has finished with, from `/metrics`: processed (delivered,
   * duplicate, rejected or failed) or skipped as an org another node owns.
   */
  async function legacyProcessed(gateway: GatewayProcess): Promise<number> {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    let total = 0;
    for (const [, labels, value] of text.matchAll(/^hub_events_ingested_total\{([^}]*)\} (\S+)$/gm)) {
      if (labels?.includes('source="legacy"')) total += Number(value);
    }
    for (const [, value] of text.matchAll(/^hub_legacy_skipped_total (\S+)$/gm)) total += Number(value);
    return total;
  }

  const processedBy = (nodes: readonly GatewayProcess[]) => Promise.all(nodes.map(legacyProcessed));

  /** Waits until each of `nodes` has finished `count` more legacy messages than `before`: nothing of them is still in flight. */
  async function untilProcessed(nodes: readonly GatewayProcess[], before: readonly number[], count: number, timeoutMs = 20_000) {
    await until(
      `every gateway to finish ${count} legacy messages`,
      async () => (await processedBy(nodes)).every((n, i) => n >= (before[i] ?? 0) + count),
      timeoutMs,
    );
  }

  /** PUBLISHes every message in one pipeline, in order, like a Rails burst; resolves with each one's receiver count. */
  async function publishLegacy(messages: ReadonlyArray<readonly [channel: string, message: string]>): Promise<number[]> {
    const pipeline = rails.pipeline();
    for (const [channel, message] of messages) pipeline.publish(channel, message);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, receivers]) => {
      if (error) throw error;
      return receivers as number;
    });
  }

  /**
   * A client on gateway `nodeIndex`, subscribed to `topics`, recording every event it gets. A
   * service watching a per-user topic names the user's org (`topic@org`).
   */
  async function watch(nodeIndex: number, token: string, topics: readonly string[]): Promise<Watcher> {
    const client = await connectClient(node(nodeIndex).url, token);
    const seen: Received[] = [];
    // Presence announcements of the other watchers are not what these tests count.
    client.onAny((event: string, envelope: Envelope) => {
      if (!event.startsWith("presence.")) seen.push({ event, envelope });
    });
    for (const scoped of topics) {
      const [topic, org] = scoped.split("@") as [string, string | undefined];
      const ok = await request(client, "subscribe", org === undefined ? { topic } : { topic, org_id: org });
      expect(ok).toMatchObject({ ok: true, topic });
    }
    return { client, node: nodeIndex, topics, seen };
  }

  /**
   * Publishes a sentinel through the emitter on `org:{org}` and resolves once every watcher has it.
   * Call it after everything else was broadcast (HTTP answered, legacy messages processed by every
   * node): Redis pub/sub keeps order, so any copy of an earlier event has arrived by then.
   */
  async function sentinel(watchers: readonly Watcher[], org: number): Promise<string> {
    const id = `sentinel-${fresh()}`;
    const arrived = Promise.all(watchers.map((w) => nextEvent(w.client, "roster.sentinel", id)));
    await sdk.publish({ id, type: "roster.sentinel", org_id: org, payload: {} });
    await arrived;
    return id;
  }

  /** What a watcher received, without sentinels. */
  const received = (w: Watcher) => w.seen.filter((r) => r.event !== "roster.sentinel");
  const receivedIds = (w: Watcher) => received(w).map((r) => r.envelope.id);

  /** A compact verdict on a delivery sequence, so a failure says what went wrong instead of diffing thousands of ids. */
  function sequenceReport(got: readonly string[], expected: readonly string[]) {
    const counts = new Map<string, number>();
    for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
    const wanted = new Set(expected);
    const firstMismatch = got.findIndex((id, i) => id !== expected[i]);
    return {
      received: got.length,
      duplicates: [...counts]
        .filter(([, n]) => n > 1)
        .map(([id]) => id)
        .slice(0, 5),
      missing: expected.filter((id) => !counts.has(id)).slice(0, 5),
      unexpected: got.filter((id) => !wanted.has(id)).slice(0, 5),
      firstOutOfOrder: firstMismatch === -1 ? null : { at: firstMismatch, got: got[firstMismatch], expected: expected[firstMismatch] },
    };
  }
  const perfect = (expected: readonly string[]) => ({
    received: expected.length,
    duplicates: [],
    missing: [],
    unexpected: [],
    firstOutOfOrder: null,
  });

  async function api<B = unknown>(
    url: string,
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: B }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, body: body as B };
  }

  /** Every entry of one dead-letter stream, through the HTTP API (paged). */
  async function dlqEntries(stream: string, via = node(0).url): Promise<DeadLetterEntry[]> {
    const all: DeadLetterEntry[] = [];
    let after: string | undefined;
    for (;;) {
      const query = `count=500${after ? `&after=${after}` : ""}`;
      const res = await api<{ entries: DeadLetterEntry[] }>(via, "GET", `/api/v1/dlq/${encodeURIComponent(stream)}/entries?${query}`, {
        token: service,
      });
      expect(res.status).toBe(200);
      const page = res.body.entries;
      all.push(...page);
      if (page.length < 500) return all;
      after = page.at(-1)?.id;
    }
  }

  /** Every entry of every dead-letter stream, through the HTTP API. */
  async function allDlqEntries(): Promise<DeadLetterEntry[]> {
    const res = await api<StreamList>(node(0).url, "GET", "/api/v1/dlq", { token: service });
    expect(res.status).toBe(200);
    const streams = res.body.streams;
    return (await Promise.all(streams.map((s) => dlqEntries(s.stream)))).flat();
  }

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    rails = new Redis(redis.url);
    sdkRedis = new Redis(redis.url);
    sdk = createHubEmitter({ redis: sdkRedis });
    service = await serviceToken("legacy-channel-test");
    gateways = await Promise.all(Array.from({ length: NODES }, (_, i) => startNode(i + 1)));
    await until("every gateway's legacy PSUBSCRIBE", async () => (await legacySubscribers()) === NODES);
  });

  afterAll(async () => {
    closeAllClients();
    for (const client of [rails, admin, sdkRedis]) client?.disconnect();
    await Promise.all(gateways.map((g) => g.stop()));
    await redis?.stop();
  });

  afterEach(() => closeAllClients());

  it("delivers 2,400 back-to-back Rails events exactly once, in publish order, to every client on every node", async () => {
    const nonce = fresh();
    const tournament = 700_000 + Math.floor(Math.random() * 100_000);
    const started = Date.now();
    // Two kinds of client per node: user 7 also follows the tournament; user 8 only its org and notifications.
    const watchers: Watcher[] = [];
    for (let n = 0; n < NODES; n++) {
      watchers.push(await watch(n, await userToken({ sub: "7", org_id: "42" }), ["org:42", "notifications:7", `tournament:${tournament}`]));
      watchers.push(await watch(n, await userToken({ sub: "8", org_id: "42" }), ["org:42", "notifications:8"]));
    }

    const events: RailsEvent[] = Array.from({ length: 2_400 }, (_, i) => {
      const id = `rails-${nonce}-${i}`;
      switch (i % 4) {
        case 0:
          return railsEvent({ id, type: "roster.player_hired", org_id: 42, payload: { seq: i, player_id: 10_000 + i, role: "mid" } });
        case 1:
          return railsEvent({
            id,
            type: "notification.created",
            org_id: 42,
            user_id: i % 8 === 1 ? 7 : 8,
            payload: { id: 50_000 + i, title: `Scrim #${i} confirmed`, kind: "scrim", seq: i },
          });
        case 2:
          return railsEvent({
            id,
            type: "tournament_match.confirmed",
            org_id: 42,
            user_id: 3,
            payload: { tournament_id: tournament, id: 70_000 + i, status: "confirmed", seq: i },
          });
        default:
          return railsEvent({ id, type: "roster.player_released", org_id: 42, user_id: 7, payload: { seq: i, player_id: 10_000 + i } });
      }
    });
    /** docs/protocol.md "Routing table": client event, topic and data of each seed type. */
    const delivery = (e: RailsEvent): { event: string; topic: string; data: unknown } => {
      if (e.type === "notification.created")
        return { event: "notification.created", topic: `notifications:${e.user_id}`, data: { notification: e.payload } };
      if (e.type === "tournament_match.confirmed")
        return { event: "match_confirmed", topic: `tournament:${tournament}`, data: { match: e.payload } };
      return { event: e.type, topic: "org:42", data: e.payload };
    };

    const before = await processedBy(gateways);
    const receivers = await publishLegacy(events.map((e) => [legacyChannel(42), JSON.stringify(e)] as const));
    // Every gateway got every message: exactly-once is not just "only one node listens".
    expect(receivers.every((n) => n === NODES)).toBe(true);
    await untilProcessed(gateways, before, events.length);
    await sentinel(watchers, 42);

    for (const w of watchers) {
      const wanted = events.filter((e) => w.topics.includes(delivery(e).topic));
      const wantedIds = wanted.map((e) => e.id as string);
      expect(sequenceReport(receivedIds(w), wantedIds)).toEqual(perfect(wantedIds));
      expect(received(w)).toEqual(
        wanted.map((e) => {
          const { event, topic, data } = delivery(e);
          return {
            event,
            envelope: expect.objectContaining({ id: e.id, type: e.type, topic, org_id: "42", data, ts: expect.any(Number) }),
          };
        }),
      );
      for (const { envelope } of received(w)) {
        expect(Object.keys(envelope).filter((key) => !ENVELOPE_KEYS.has(key))).toEqual([]);
        expect(envelope.ts).toBeGreaterThanOrEqual(started);
        expect(envelope.ts).toBeLessThanOrEqual(Date.now());
      }
    }
    // Every kind of event reached its clients: 600 of each type, notifications split between users 7 and 8.
    expect(receivedIds(watchers[0] as Watcher)).toHaveLength(600 + 300 + 600 + 600);
    expect(receivedIds(watchers[1] as Watcher)).toHaveLength(600 + 300 + 600);
  });

  it("dead-letters each kind of bad legacy input exactly once across three nodes, with a clear code, and delivers none of it", async () => {
    const nonce = fresh();
    const tournament = `cup-${nonce}`;
    const at = new Date().toISOString();
    const cases: Array<{ name: string; raw: string; code: string; stream: string | string[]; issue?: string }> = [
      { name: "not JSON", raw: `{"id":"nojson-${nonce}","type":"roster.player_hired", oops`, code: "invalid_json", stream: "_unknown" },
      {
        name: "a JSON array",
        raw: JSON.stringify([railsEvent({ id: `array-${nonce}`, type: "roster.player_hired", org_id: 42, payload: {} })]),
        code: "invalid_event",
        stream: "_unknown",
      },
      { name: "a JSON string", raw: JSON.stringify(`just text ${nonce}`), code: "invalid_event", stream: "_unknown" },
      {
        name: "payload is a string",
        raw: JSON.stringify({
          id: `strpayload-${nonce}`,
          type: "roster.player_hired",
          user_id: 7,
          org_id: 42,
          payload: "hired!",
          published_at: at,
        }),
        code: "invalid_event",
        stream: "42:roster.any",
        issue: "payload",
      },
      {
        name: "org_id of the wrong type",
        raw: JSON.stringify({
          id: `boolorg-${nonce}`,
          type: "roster.player_hired",
          user_id: 7,
          org_id: true,
          payload: {},
          published_at: at,
        }),
        code: "invalid_event",
        stream: "_unknown",
        issue: "org_id",
      },
      {
        name: "missing org_id",
        raw: JSON.stringify({ id: `noorg-${nonce}`, type: "roster.player_hired", user_id: 7, payload: { seq: 1 }, published_at: at }),
        code: "invalid_event",
        stream: "_unknown",
        issue: "org_id",
      },
      {
        name: "unknown type",
        raw: JSON.stringify(railsEvent({ id: `ticket-${nonce}`, type: "ticket.sold", org_id: 42, user_id: 7, payload: { ticket_id: 1 } })),
        code: "unknown_type",
        // A type the hub does not know gets no stream of its own: input cannot multiply streams.
        stream: "_unknown",
      },
      {
        name: "channel org 42, envelope org 43",
        raw: JSON.stringify(railsEvent({ id: `mismatch-${nonce}`, type: "roster.player_hired", org_id: 43, payload: { seq: 1 } })),
        code: "org_mismatch",
        // Filed under either org; what matters is that it is recorded once and never delivered.
        stream: ["42:roster.any", "43:roster.any"],
      },
      {
        name: "notification.created without user_id",
        raw: JSON.stringify(railsEvent({ id: `norecipient-${nonce}`, type: "notification.created", org_id: 42, payload: { title: "hi" } })),
        code: "no_route",
        stream: "42:notification.created",
      },
      {
        name: "payload failing its type's schema",
        raw: JSON.stringify(
          railsEvent({ id: `badmatch-${nonce}`, type: "tournament_match.confirmed", org_id: 42, payload: { tournament_id: true, id: 5 } }),
        ),
        code: "invalid_event",
        stream: "42:tournament_match.confirmed",
        issue: "payload.tournament_id",
      },
    ];
    // Service principals may subscribe anywhere: one per node, on every topic these inputs name.
    const watchers = await Promise.all(
      gateways.map((_, n) =>
        serviceToken(`watcher-${n}`).then((t) => watch(n, t, ["org:42", "org:43", "notifications:7@42", `tournament:${tournament}`])),
      ),
    );

    const before = await processedBy(gateways);
    const receivers = await publishLegacy(cases.map((c) => [legacyChannel(42), c.raw] as const));
    expect(receivers).toEqual(cases.map(() => NODES));
    await untilProcessed(gateways, before, cases.length);
    await sentinel(watchers, 42);
    for (const w of watchers) expect(received(w)).toEqual([]);

    const entries = await allDlqEntries();
    for (const c of cases) {
      const recorded = entries.filter((e) => e.raw === c.raw);
      expect(
        recorded.map((e) => e.code),
        c.name,
      ).toEqual([c.code]);
      const entry = recorded[0] as DeadLetterEntry;
      expect(entry, c.name).toMatchObject({ source: "legacy", channel: legacyChannel(42), raw: c.raw, truncated: false });
      expect(entry.message, c.name).toEqual(expect.any(String));
      expect(entry.message.length, c.name).toBeGreaterThan(0);
      if (Array.isArray(c.stream)) expect(c.stream, c.name).toContain(entry.stream);
      else expect(entry.stream, c.name).toBe(c.stream);
      if (c.issue)
        expect(
          entry.issues.some((issue) => issue.startsWith(c.issue as string)),
          `${c.name}: ${entry.issues}`,
        ).toBe(true);
    }
    // The same through Redis itself: one XADD per input, on the stream the API names.
    for (const c of cases.filter((c) => typeof c.stream === "string")) {
      const rows = await admin.xrange(hubKeys().deadLetters(c.stream as string), "-", "+");
      expect(
        rows.filter(([, fields]) => fields[fields.indexOf("raw") + 1] === c.raw),
        c.name,
      ).toHaveLength(1);
    }
  });

  it("dead-letters a message over the size cap once, as payload_too_large with its raw input cut, and delivers none of it", async () => {
    const nonce = fresh();
    const org = 51;
    const watchers = await Promise.all(gateways.map(async (_, n) => watch(n, await userToken({ sub: `o${n}`, org_id: "51" }), ["org:51"])));
    const id = `oversize-${nonce}`;
    // Over 1 MiB (MAX_EVENT_BYTES, the HTTP body limit too), otherwise a valid event.
    const raw = JSON.stringify(railsEvent({ id, type: "roster.player_hired", org_id: org, payload: { blob: "x".repeat(1_100_000) } }));
    const before = await processedBy(gateways);
    expect(await publishLegacy([[legacyChannel(org), raw]])).toEqual([NODES]);
    await untilProcessed(gateways, before, 1);
    await sentinel(watchers, org);
    for (const w of watchers) expect(received(w)).toEqual([]);

    const recorded = (await allDlqEntries()).filter((e) => e.raw.includes(id));
    expect(recorded).toHaveLength(1);
    const entry = recorded[0] as DeadLetterEntry;
    expect(entry).toMatchObject({ source: "legacy", code: "payload_too_large", channel: legacyChannel(org), truncated: true });
    expect(raw.startsWith(entry.raw)).toBe(true);
    expect(entry.raw.length).toBeLessThan(raw.length);
  });

  it("survives 10,000 garbage messages in a burst: the valid event after them is delivered, each garbage message is dead-lettered once", async () => {
    const nonce = fresh();
    const started = Date.now();
    const watchers = await Promise.all(gateways.map(async (_, n) => watch(n, await userToken({ sub: `b${n}`, org_id: "45" }), ["org:45"])));
    const garbage = Array.from({ length: 10_000 }, (_, i) => [legacyChannel(45), `not json ${nonce} ${i}`] as const);
    const valid = railsEvent({ id: `after-burst-${nonce}`, type: "roster.player_hired", org_id: 45, payload: { seq: 1 } });
    const arrived = Promise.all(watchers.map((w) => nextEvent(w.client, "roster.player_hired", valid.id)));

    const before = await processedBy(gateways);
    const receivers = await publishLegacy([...garbage, [legacyChannel(45), JSON.stringify(valid)]]);
    expect(receivers.every((n) => n === NODES)).toBe(true);
    const delivered = await arrived;
    for (const envelope of delivered) expect(envelope).toMatchObject({ id: valid.id, topic: "org:45", org_id: "45", data: { seq: 1 } });
    await untilProcessed(gateways, before, garbage.length + 1, 25_000);
    const burstDone = Date.now() - started;

    // Each garbage message once in `_unknown`, though both owners of org 45 reject it.
    const rows = await admin.xrange(hubKeys().deadLetters("_unknown"), "-", "+");
    const prefix = `not json ${nonce} `;
    const ours = rows
      .map(([, fields]) => Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]])))
      .filter((f) => f.raw?.startsWith(prefix));
    // Exactly all of them: each owner gets every message, any one of them records it (fingerprint),
    // and `MAXLEN ~` trimming never cuts a stream below its cap, so the newest 10,000 entries stay.
    expect(ours.length).toBe(10_000);
    expect(new Set(ours.map((f) => f.raw)).size).toBe(ours.length);
    expect(ours.filter((f) => f.code !== "invalid_json" || f.source !== "legacy" || f.channel !== legacyChannel(45))).toEqual([]);
    // The stream stays capped (MAXLEN ~ 10,000): approximate trimming may keep a little more.
    expect(rows.length).toBeLessThan(11_000);

    // Every process is alive and healthy, and still delivers.
    for (const gateway of gateways) {
      const health = await api(gateway.url, "GET", "/health");
      expect(health).toMatchObject({ status: 200, body: { status: "ok", redis: "connected" } });
      expect(gateway.child.exitCode).toBeNull();
    }
    const next = railsEvent({ id: `after-burst-2-${nonce}`, type: "roster.player_released", org_id: 45, payload: { seq: 2 } });
    const arrivedNext = Promise.all(watchers.map((w) => nextEvent(w.client, "roster.player_released", next.id)));
    await publishLegacy([[legacyChannel(45), JSON.stringify(next)]]);
    await arrivedNext;
    await sentinel(watchers, 45);
    // Nothing of the garbage reached a client, and nothing twice.
    for (const w of watchers) expect(receivedIds(w)).toEqual([valid.id, next.id]);
    console.info(`burst of 10,001 legacy messages processed by all ${NODES} nodes in ${burstDone} ms; ${ours.length} dead-lettered`);
  }, 60_000);

  it("delivers the same event id once, whichever paths and nodes it comes through", async () => {
    const nonce = fresh();
    const org = 46;
    const watchers = await Promise.all(gateways.map(async (_, n) => watch(n, await userToken({ sub: `d${n}`, org_id: "46" }), ["org:46"])));
    const webhook = (url: string, body: unknown) => api(url, "POST", "/events/notify", { body, headers: { "x-api-key": SCRAPER_API_KEY } });
    const internal = (url: string, body: unknown) => api(url, "POST", "/api/v1/events", { body, token: service });
    const event = (id: string, via: string) => ({ id, type: "roster.player_hired", org_id: org, payload: { via } });

    // Legacy first (delivered before the others try), then the emitter, HTTP on node 2, the webhook on node 3.
    const legacyFirst = `dup-legacy-${nonce}`;
    const firstCopy = Promise.all(watchers.map((w) => nextEvent(w.client, "roster.player_hired", legacyFirst)));
    let before = await processedBy(gateways);
    await publishLegacy([[legacyChannel(org), JSON.stringify(railsEvent(event(legacyFirst, "legacy")))]]);
    await firstCopy;
    expect(await sdk.publish(event(legacyFirst, "emitter"))).toEqual({ id: legacyFirst, topics: ["org:46"], duplicate: true });
    expect(await internal(node(1).url, event(legacyFirst, "http"))).toEqual({ status: 202, body: { ids: [legacyFirst] } });
    expect(await webhook(node(2).url, event(legacyFirst, "webhook"))).toEqual({ status: 202, body: { id: legacyFirst } });
    await untilProcessed(gateways, before, 1);

    // HTTP on node 2 first, then the webhook on node 3, the emitter, and the legacy channel (every node).
    const httpFirst = `dup-http-${nonce}`;
    expect(await internal(node(1).url, { events: [event(httpFirst, "http")] })).toEqual({ status: 202, body: { ids: [httpFirst] } });
    expect(await webhook(node(2).url, event(httpFirst, "webhook"))).toEqual({ status: 202, body: { id: httpFirst } });
    expect(await sdk.publish(event(httpFirst, "emitter"))).toEqual({ id: httpFirst, topics: ["org:46"], duplicate: true });
    before = await processedBy(gateways);
    await publishLegacy([
      [legacyChannel(org), JSON.stringify(railsEvent(event(httpFirst, "legacy")))],
      [legacyChannel(org), JSON.stringify(railsEvent(event(httpFirst, "legacy again")))],
    ]);
    await untilProcessed(gateways, before, 2);
    await sentinel(watchers, org);

    for (const w of watchers) {
      expect(received(w).map((r) => [r.envelope.id, (r.envelope.data as { via: string }).via])).toEqual([
        [legacyFirst, "legacy"],
        [httpFirst, "http"],
      ]);
    }
  });

  it("gives legacy events without id a content-derived id: the same content twice is delivered once, different content each", async () => {
    const nonce = fresh();
    const org = 48;
    const watchers = await Promise.all(gateways.map(async (_, n) => watch(n, await userToken({ sub: `c${n}`, org_id: "48" }), ["org:48"])));
    const same = JSON.stringify(railsEvent({ type: "roster.player_hired", org_id: org, user_id: 7, payload: { seq: 1, nonce } }));
    const other = JSON.stringify(railsEvent({ type: "roster.player_hired", org_id: org, user_id: 7, payload: { seq: 2, nonce } }));

    const firstCopy = Promise.all(watchers.map((w) => nextEvent(w.client, "roster.player_hired")));
    let before = await processedBy(gateways);
    await publishLegacy([[legacyChannel(org), same]]);
    await firstCopy;
    await untilProcessed(gateways, before, 1);
    // Again after it was delivered (a Rails retry), then once more back to back, then different content.
    before = await processedBy(gateways);
    await publishLegacy([
      [legacyChannel(org), same],
      [legacyChannel(org), same],
      [legacyChannel(org), other],
    ]);
    await untilProcessed(gateways, before, 3);
    await sentinel(watchers, org);

    const [first, second] = received(watchers[0] as Watcher).map((r) => r.envelope);
    for (const w of watchers) {
      expect(received(w).map((r) => (r.envelope.data as { seq: number }).seq)).toEqual([1, 2]);
      expect(received(w).map((r) => r.envelope.id)).toEqual([first?.id, second?.id]);
    }
    expect(first?.id).not.toBe(second?.id);
    // UUIDv7, its time taken from published_at: sortable, and the same on every node.
    for (const [envelope, text] of [
      [first, same],
      [second, other],
    ] as const) {
      const id = envelope?.id ?? "";
      expect(id).toMatch(UUID_V7);
      const ms = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
      expect(ms).toBe(Date.parse((JSON.parse(text) as RailsEvent).published_at));
    }
  });

  it("stamps a legacy event without published_at with the time it was taken in, and delivers it once", async () => {
    const nonce = fresh();
    const org = 50;
    const watchers = await Promise.all(gateways.map(async (_, n) => watch(n, await userToken({ sub: `t${n}`, org_id: "50" }), ["org:50"])));
    const { published_at: _, ...undated } = railsEvent({ type: "roster.player_hired", org_id: org, user_id: 7, payload: { nonce } });
    const started = Date.now();
    const before = await processedBy(gateways);
    await publishLegacy([
      [legacyChannel(org), JSON.stringify(undated)],
      [legacyChannel(org), JSON.stringify(undated)],
    ]);
    await untilProcessed(gateways, before, 2);
    await sentinel(watchers, org);
    const finished = Date.now();

    const [first] = received(watchers[0] as Watcher).map((r) => r.envelope);
    for (const w of watchers) {
      expect(received(w).map((r) => r.envelope)).toEqual([expect.objectContaining({ id: first?.id, org_id: "50", data: { nonce } })]);
      const ts = received(w)[0]?.envelope.ts;
      // Not 1970: when the hub took it in.
      expect(ts).toBeGreaterThanOrEqual(started);
      expect(ts).toBeLessThanOrEqual(finished);
    }
    // Its id is still the same on every node (that is what made it one delivery): a content-derived UUIDv7.
    expect(first?.id).toMatch(UUID_V7);
  });

  it("treats every legacy inhouse.session_started as a start_session command, never as an event; without a queue id it is dead-lettered", async () => {
    const nonce = fresh();
    const org = 49;
    const keys = hubKeys();
    /** The commands enqueued for queue `{org}/{queueId}`, as the worker will read them. */
    const commandsOf = async (queueId: string) =>
      (await admin.xrange(keys.queue(`${org}/${queueId}`).commands, "-", "+")).map(
        ([, fields]) => JSON.parse(fields[fields.indexOf("command") + 1] as string) as Record<string, unknown>,
      );
    const queue = (id: string) => ({ id, org_id: String(org), status: "check_in", capacity: 2, players: [], version: 3 });
    const integerId = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    const integerQueue = 800_000_000 + Math.floor(Math.random() * 1_000_000);
    const messages = {
      // The contract's form: { queue_id }, with a string id.
      queueId: railsEvent({ id: `start-a-${nonce}`, type: "inhouse.session_started", org_id: org, payload: { queue_id: `qa-${nonce}` } }),
      // { queue } as the worker's own event carries it: a command too, for queue.id; an integer message id.
      queueObject: {
        ...railsEvent({ type: "inhouse.session_started", org_id: org, payload: { queue: queue(`qb-${nonce}`) } }),
        id: integerId,
      },
      // Integer queue id, no message id: the command id is a hash of the message.
      integerQueue: railsEvent({ type: "inhouse.session_started", org_id: org, payload: { queue_id: integerQueue, note: nonce } }),
      // Neither queue_id nor queue.id: nothing to start.
      noQueue: railsEvent({
        id: `start-none-${nonce}`,
        type: "inhouse.session_started",
        org_id: org,
        payload: { queue: { status: "check_in", players: [], nonce } },
      }),
    };
    const watchers = await Promise.all(
      gateways.map((_, n) => serviceToken(`session-${n}`).then((t) => watch(n, t, [`inhouse:${org}`, `org:${org}`]))),
    );

    const before = await processedBy(gateways);
    const raws = Object.values(messages).map((m) => JSON.stringify(m));
    await publishLegacy(raws.map((raw) => [legacyChannel(org), raw] as const));
    await untilProcessed(gateways, before, raws.length);
    await sentinel(watchers, org);
    // None of them is delivered as an event, on any node.
    for (const w of watchers) expect(received(w)).toEqual([]);

    // One command each, though both owners of org 49 enqueued it.
    const command = (queue_id: string, id: unknown) =>
      expect.objectContaining({ id, command: "start_session", org_id: String(org), queue_id });
    expect(await commandsOf(`qa-${nonce}`)).toEqual([command(`qa-${nonce}`, `start-a-${nonce}`)]);
    expect(await commandsOf(`qb-${nonce}`)).toEqual([command(`qb-${nonce}`, String(integerId))]);
    expect(await commandsOf(String(integerQueue))).toEqual([command(String(integerQueue), expect.stringMatching(/^legacy-[0-9a-f]{32}$/))]);

    const noQueueRaw = JSON.stringify(messages.noQueue);
    const entries = (await dlqEntries(`${org}:inhouse.session_started`)).filter((e) => e.raw === noQueueRaw);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      source: "legacy",
      code: "invalid_event",
      channel: legacyChannel(org),
      orgId: String(org),
      type: "inhouse.session_started",
      issues: [expect.stringMatching(/^payload\.queue_id\b/)],
    });
    // The commands were not dead-lettered.
    expect((await allDlqEntries()).filter((e) => e.raw.includes(nonce) && e.raw !== noQueueRaw)).toEqual([]);
  });

  it("replays dead letters through the HTTP API: a now-valid entry is delivered and removed, a failing one stays; DELETE removes", async () => {
    const nonce = fresh();
    const org = 47;
    // A type of its own gives this test a fresh stream; roster.* routes it to org:47.
    const type = `roster.replayed_${nonce}`;
    const stream = `${org}:${type}`;
    const deadLetters = redisDeadLetters(new Redis(redis.url), hubKeys());
    const okEvent = railsEvent({ id: `replay-ok-${nonce}`, type, org_id: org, user_id: 7, payload: { seq: 1 } });
    const raws = {
      ok: JSON.stringify(okEvent),
      invalid: JSON.stringify({ id: `replay-bad-${nonce}`, type, org_id: org, payload: "still not an object" }),
      foreign: JSON.stringify(railsEvent({ id: `replay-foreign-${nonce}`, type, org_id: org, payload: { seq: 3 } })),
    };
    // As an older gateway (without the roster route) would have recorded them.
    for (const [name, raw] of Object.entries(raws)) {
      await deadLetters.append({
        source: "legacy",
        code: "unknown_type",
        message: `no route for event type ${type}`,
        issues: [],
        orgId: String(org),
        type,
        raw,
        truncated: false,
        // The foreign one came in on org 48's channel: the org check still applies on replay.
        channel: legacyChannel(name === "foreign" ? 48 : org),
        receivedAt: Date.now(),
      });
    }

    // Service token only: none is 401, a user token 403, and neither changes anything.
    const user = await userToken({ sub: "7", org_id: String(org) });
    const path = `/api/v1/dlq/${encodeURIComponent(stream)}`;
    for (const [method, route, body] of [
      ["GET", "/api/v1/dlq", undefined],
      ["GET", `${path}/entries`, undefined],
      ["POST", `${path}/replay`, {}],
      ["DELETE", `${path}/entries`, { ids: ["1-0"] }],
    ] as const) {
      expect((await api(node(1).url, method, route, { body })).status, `${method} ${route} without a token`).toBe(401);
      expect((await api(node(1).url, method, route, { body, token: user })).status, `${method} ${route} with a user token`).toBe(403);
    }

    const listed = await api<StreamList>(node(1).url, "GET", "/api/v1/dlq", { token: service });
    expect(listed.status).toBe(200);
    expect(listed.body.streams).toContainEqual({ stream, length: 3 });
    const entries = await dlqEntries(stream, node(1).url);
    expect(entries.map((e) => e.raw)).toEqual([raws.ok, raws.invalid, raws.foreign]);
    const [okEntry, invalidEntry, foreignEntry] = entries.map((e) => e.id) as [string, string, string];

    const watchers = await Promise.all(
      gateways.map(async (_, n) => watch(n, await userToken({ sub: `r${n}`, org_id: String(org) }), [`org:${org}`])),
    );
    const replay = await api(node(1).url, "POST", `${path}/replay`, { token: service, body: {} });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({
      replayed: [okEntry],
      failed: [
        { id: invalidEntry, error: expect.objectContaining({ code: "invalid_event" }) },
        { id: foreignEntry, error: expect.objectContaining({ code: "org_mismatch" }) },
      ],
    });
    await sentinel(watchers, org);
    for (const w of watchers) {
      expect(received(w)).toEqual([
        {
          event: type,
          envelope: expect.objectContaining({ id: okEvent.id, type, topic: `org:${org}`, org_id: String(org), data: { seq: 1 } }),
        },
      ]);
    }
    // The delivered entry left the stream; the failures stayed, and were not recorded a second time.
    expect((await dlqEntries(stream)).map((e) => e.id)).toEqual([invalidEntry, foreignEntry]);
    expect(await admin.xlen(hubKeys().deadLetters(stream))).toBe(2);

    // Replaying again delivers nothing more.
    const again = await api<ReplayBody>(node(2).url, "POST", `${path}/replay`, {
      token: service,
      body: { ids: [invalidEntry, foreignEntry] },
    });
    expect(again.status).toBe(200);
    expect(again.body.replayed).toEqual([]);
    expect(again.body.failed.map((f) => [f.id, f.error.code])).toEqual([
      [invalidEntry, "invalid_event"],
      [foreignEntry, "org_mismatch"],
    ]);
    await sentinel(watchers, org);
    for (const w of watchers) expect(receivedIds(w)).toEqual([okEvent.id]);

    const removed = await api(node(0).url, "DELETE", `${path}/entries`, { token: service, body: { ids: [invalidEntry, foreignEntry] } });
    expect(removed).toEqual({ status: 200, body: { removed: 2 } });
    expect(await dlqEntries(stream)).toEqual([]);
    const after = await api<StreamList>(node(0).url, "GET", "/api/v1/dlq", { token: service });
    expect(after.body.streams.map((s) => s.stream)).not.toContain(stream);
  });

  // Last: it kills a node (and starts a replacement, so the file's other tests are unaffected in any order).
  it("has no single point of failure: with one gateway SIGKILLed mid-stream, clients on the others get every event once, in order", async () => {
    const nonce = fresh();
    const org = 44;
    const watchers: Watcher[] = [];
    for (let n = 0; n < NODES; n++) {
      for (let i = 0; i < 2; i++) watchers.push(await watch(n, await userToken({ sub: `k${n}-${i}`, org_id: "44" }), ["org:44"]));
    }
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, k) =>
        railsEvent({ id: `kill-${nonce}-${from + k}`, type: "roster.player_hired", org_id: org, user_id: 7, payload: { seq: from + k } }),
      );
    const messages = (events: RailsEvent[]) => events.map((e) => [legacyChannel(org), JSON.stringify(e)] as const);
    const [before, during, after] = [batch(0, 300), batch(300, 700), batch(1_000, 700)];
    const ids = (events: RailsEvent[]) => events.map((e) => e.id as string);

    // All three nodes up.
    let counts = await processedBy(gateways);
    await publishLegacy(messages(before));
    await untilProcessed(gateways, counts, before.length);
    await sentinel(watchers, org);
    for (const w of watchers) expect(sequenceReport(receivedIds(w), ids(before))).toEqual(perfect(ids(before)));

    const victim = node(0);
    const survivors = gateways.slice(1);
    const survivingWatchers = watchers.filter((w) => w.node !== 0);
    try {
      // SIGKILL node 1 while a batch is in flight, then publish more once it is gone.
      counts = await processedBy(survivors);
      const killed = victim.kill();
      await publishLegacy(messages(during));
      await killed;
      await until("the dead node's legacy subscription to close", async () => (await legacySubscribers()) === NODES - 1);
      const receivers = await publishLegacy(messages(after));
      expect(receivers.every((n) => n === NODES - 1)).toBe(true);
      await untilProcessed(survivors, counts, during.length + after.length);
      await sentinel(survivingWatchers, org);

      const all = [...ids(before), ...ids(during), ...ids(after)];
      for (const w of survivingWatchers) expect(sequenceReport(receivedIds(w), all)).toEqual(perfect(all));
      // The dead node's clients got a prefix, each event at most once: whatever reached them was not repeated.
      for (const w of watchers.filter((w) => w.node === 0)) {
        const got = receivedIds(w);
        expect(got).toEqual(all.slice(0, got.length));
      }
    } finally {
      if (victim.child.exitCode === null && victim.child.signalCode === null) await victim.kill();
      gateways[0] = await startNode(4);
      await until("the replacement's legacy PSUBSCRIBE", async () => (await legacySubscribers()) === NODES);
    }
  });
});
