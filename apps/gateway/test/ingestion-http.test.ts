import { randomUUID } from "node:crypto";
import {
  closeAllClients,
  collect,
  connectClient,
  type GatewayProcess,
  type HubClient,
  nextEvent,
  refusal,
  request,
  serviceToken,
  startGateway,
  userToken,
} from "@hub/devkit";
import { createHubEmitter } from "@hub/emitter";
import type { Envelope } from "@hub/events";
import type { DeadLetterEntry, RedisClient } from "@hub/store";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clusterHub, type HubFixture, httpPublish, memoryHub, redisHub } from "./hub-fixture.js";

/**
 * The HTTP producer paths (docs/protocol.md "Producers"): the scraper webhook `POST /events/notify` and
 * the internal publish API `POST /api/v1/events`, with the pipeline behind them (validation,
 * versioned schemas, sensitive-field scrubbing, routing incl. the staff fan-out, dedupe, the
 * dead-letter queue). Run against both engines; on Redis, producers hit another node than the
 * subscribers, and the dead-letter queue is read from a third.
 */

const API_KEY = "test-scraper-key";
// debug: the most verbose logs for the leak check, and `handshake refused` lines to flush them by.
const ENV = { SCRAPER_API_KEY: API_KEY, LOG_LEVEL: "debug" };

type Hub = HubFixture;

const ENGINES: Array<{ name: string; kind: HubFixture["engine"]; start: () => Promise<Hub> }> = [
  { name: "memory engine, one node", kind: "memory", start: () => memoryHub(ENV) },
  { name: "redis engine, three nodes", kind: "redis", start: () => redisHub(3, ENV) },
  { name: "redis cluster, sharded pub/sub, three nodes", kind: "cluster", start: () => clusterHub(3, ENV) },
];

interface ErrorBody {
  code: string;
  message: string;
  issues?: string[];
}

const uniq = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function errorOf(res: Response): Promise<ErrorBody> {
  return ((await res.json()) as { error: ErrorBody }).error;
}

/** POSTs to the scraper webhook; a string body is sent as is. */
function webhook(url: string, body: unknown, headers: Record<string, string> = { "x-api-key": API_KEY }): Promise<Response> {
  return fetch(`${url}/events/notify`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** POSTs a raw string to the internal publish API with a service token. */
async function httpPublishText(url: string, text: string): Promise<Response> {
  return fetch(`${url}/api/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await serviceToken()}` },
    body: text,
  });
}

/** Every dead-letter entry of every stream, read through `GET /api/v1/dlq` and its entries pages. */
async function allDeadLetters(url: string): Promise<DeadLetterEntry[]> {
  const headers = { authorization: `Bearer ${await serviceToken()}` };
  const listed = await fetch(`${url}/api/v1/dlq`, { headers });
  expect(listed.status).toBe(200);
  const { streams } = (await listed.json()) as { streams: Array<{ stream: string; length: number }> };
  const all: DeadLetterEntry[] = [];
  for (const { stream } of streams) {
    let after: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ count: "500", ...(after === undefined ? {} : { after }) });
      const res = await fetch(`${url}/api/v1/dlq/${encodeURIComponent(stream)}/entries?${query}`, { headers });
      expect(res.status).toBe(200);
      const { entries } = (await res.json()) as { entries: DeadLetterEntry[] };
      all.push(...entries);
      if (entries.length < 500) break;
      after = entries.at(-1)?.id;
    }
  }
  return all;
}

/** The dead-letter entries whose raw input contains `marker`. */
async function deadLettersWith(url: string, marker: string): Promise<DeadLetterEntry[]> {
  return (await allDeadLetters(url)).filter((entry) => entry.raw.includes(marker));
}

/** A bad webhook input that gets past the API key, what it must be answered with, and where the DLQ should file it. */
interface BadInput {
  name: string;
  body: (marker: string) => unknown;
  status: number;
  code: string;
  /** A field the `issues` must name. */
  field?: string;
  /** Codes the dead-letter entry may carry; any when unset. */
  dlqCodes?: string[];
}

const WEBHOOK_BAD_INPUT: BadInput[] = [
  {
    name: "a non-JSON body",
    body: (m) => `{"marker":"${m}", this is not json`,
    status: 400,
    code: "invalid_json",
    dlqCodes: ["invalid_json"],
  },
  {
    name: "org_id of the wrong type",
    body: (m) => ({ marker: m, type: "match.scraped", org_id: { id: 123 }, payload: {} }),
    status: 400,
    code: "invalid_event",
    field: "org_id",
    dlqCodes: ["invalid_event"],
  },
  {
    name: "a payload that is not an object",
    body: (m) => ({ marker: m, type: "match.scraped", org_id: "123", payload: "score 2-1" }),
    status: 400,
    code: "invalid_event",
    field: "payload",
    dlqCodes: ["invalid_event"],
  },
  {
    name: "a type that is not a string",
    body: (m) => ({ marker: m, type: 42, org_id: "123", payload: {} }),
    status: 400,
    code: "invalid_event",
    field: "type",
    dlqCodes: ["invalid_event"],
  },
  {
    name: "a missing org_id",
    body: (m) => ({ marker: m, type: "match.scraped", payload: {} }),
    status: 400,
    code: "invalid_event",
    field: "org_id",
    dlqCodes: ["invalid_event"],
  },
  {
    name: "an unknown type",
    body: (m) => ({ marker: m, type: "weather.changed", org_id: "123", payload: {} }),
    status: 400,
    code: "unknown_type",
    dlqCodes: ["unknown_type"],
  },
  {
    name: "a body over 1 MB",
    body: (m) => ({ marker: m, type: "match.scraped", org_id: "123", payload: { blob: "x".repeat(1_100_000) } }),
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "a body under 1 MB whose JSON grows over 1 MiB once parsed (1e20 is written 100000000000000000000)",
    body: (m) => `{"marker":"${m}","type":"match.scraped","org_id":"123","payload":{"n":[${Array(150_000).fill("1e20").join(",")}]}}`,
    status: 413,
    code: "payload_too_large",
    dlqCodes: ["payload_too_large"],
  },
];

const asText = (body: unknown) => (typeof body === "string" ? body : JSON.stringify(body));

/** JSON text as written again after parsing; text that does not parse, as is. */
function reserialized(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight; resolves with every result, in index order. */
async function bounded<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

describe.each(ENGINES)("HTTP ingestion ($name)", ({ kind, start }) => {
  let hub: Hub;
  /** Where producers POST. */
  let ingress: string;
  /** A second ingress node (the same one on the memory engine). */
  let ingress2: string;
  /** Where subscribers connect: another node than the ingress on Redis. */
  let subUrl: string;
  /** Where the dead-letter queue is read: yet another node on Redis. */
  let dlqUrl: string;
  /** Gateways a test starts itself; stopped in afterAll if the test could not. */
  const extra: GatewayProcess[] = [];

  beforeAll(async () => {
    hub = await start();
    const urls = hub.gateways.map((g) => g.url);
    ingress = urls[0] as string;
    ingress2 = urls[1] ?? ingress;
    subUrl = urls.at(-1) as string;
    dlqUrl = urls[1] ?? ingress;
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    closeAllClients();
    await Promise.all(extra.map((g) => g.stop()));
    await hub?.close();
  });

  /** A user of `org` on the subscriber node, subscribed to `topics`. */
  async function member(org: string, topics: string[], sub = uniq("u")): Promise<HubClient> {
    const client = await connectClient(subUrl, await userToken({ sub, org_id: org }));
    for (const topic of topics) expect(await request(client, "subscribe", { topic })).toMatchObject({ ok: true, topic });
    return client;
  }

  /**
   * Publishes a sentinel on `org:<org>` (the client must be subscribed) after everything the test
   * published and awaits it: every copy of an earlier event has reached the client by then.
   */
  async function sentinel(client: HubClient, org: string): Promise<void> {
    const id = uniq("sentinel");
    const arrived = nextEvent(client, "player.sentinel", id);
    const res = await httpPublish(ingress, { id, type: "player.sentinel", org_id: org, payload: {} });
    expect(res.status).toBe(202);
    await arrived;
  }

  /** Publishes a good event over the webhook and awaits it: the node is alive and still delivers. */
  async function stillDelivers(): Promise<void> {
    const org = uniq("alive");
    const client = await member(org, [`org:${org}`]);
    const arrived = nextEvent(client, "match.scraped");
    const res = await webhook(ingress, { type: "match.scraped", org_id: org, payload: { alive: true } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(await arrived).toMatchObject({ id, data: { alive: true } });
  }

  /** Every gateway process runs and answers /health with 200. */
  async function allAlive(): Promise<void> {
    for (const gateway of hub.gateways) {
      expect(gateway.child.exitCode).toBeNull();
      expect(gateway.child.signalCode).toBeNull();
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    }
  }

  /**
   * 2,000 garbage requests (16 in flight), then one valid event: every garbage one is answered 400
   * and dead-lettered once, the valid one is delivered once, every process is alive.
   */
  async function burstThenValid(send: (url: string, body: string) => Promise<Response>, source: "webhook" | "http") {
    const GARBAGE = 2_000;
    const org = uniq("burst");
    const client = await member(org, [`org:${org}`]);
    const seen = collect(client, "match.scraped");
    const marker = uniq("garbage");
    // Spread over the nodes (one on the memory engine).
    const urls = hub.gateways.map((g) => g.url);
    const statuses = await bounded(GARBAGE, 16, async (i) => {
      const res = await send(urls[i % urls.length] as string, `not json ${marker} ${i}`);
      await res.arrayBuffer();
      return res.status;
    });
    expect(statuses.filter((status) => status !== 400)).toEqual([]);

    const id = uniq("after-burst");
    const arrived = nextEvent(client, "match.scraped", id);
    const res = await send(ingress, JSON.stringify({ id, type: "match.scraped", org_id: org, payload: { valid: true } }));
    expect(res.status).toBe(202);
    expect(await arrived).toMatchObject({ id, topic: `org:${org}`, data: { valid: true } });
    await sentinel(client, org);
    expect(seen.map((e) => e.id)).toEqual([id]);

    // Each request was answered after its dead letter was written: all 2,000 are in, once each.
    const entries = await deadLettersWith(dlqUrl, marker);
    expect(entries).toHaveLength(GARBAGE);
    expect(new Set(entries.map((e) => e.raw)).size).toBe(GARBAGE);
    expect(entries.filter((e) => e.source !== source || e.code !== "invalid_json" || e.stream !== "_unknown")).toEqual([]);
    await allAlive();
  }

  describe("scraper webhook POST /events/notify", () => {
    it("accepts a valid event: 202 { id }, delivered once to an org:123 subscriber", async () => {
      const client = await member("123", ["org:123"]);
      const seen = collect(client, "match.scraped");
      const res = await webhook(ingress, { type: "match.scraped", org_id: "123", payload: { match: 9, score: "2-1" } });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { id: string };
      expect(Object.keys(body)).toEqual(["id"]);
      expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      await sentinel(client, "123");
      expect(seen).toHaveLength(1);
      expect(seen[0]).toEqual({
        id: body.id,
        type: "match.scraped",
        topic: "org:123",
        org_id: "123",
        data: { match: 9, score: "2-1" },
        ts: expect.any(Number),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
    });

    it("echoes the producer's id (and normalizes an integer org_id)", async () => {
      const client = await member("124", ["org:124"]);
      const id = uniq("scr");
      const arrived = nextEvent(client, "match.scraped", id);
      const res = await webhook(ingress, { id, type: "match.scraped", org_id: 124, payload: { n: 1 } });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ id });
      expect(await arrived).toMatchObject({ id, topic: "org:124", org_id: "124", data: { n: 1 } });
    });

    it("refuses a missing or wrong X-Api-Key with 401, without delivering or dead-lettering", async () => {
      const org = uniq("k");
      const client = await member(org, [`org:${org}`]);
      const seen = collect(client, "match.scraped");
      const marker = uniq("unauth");
      const event = { marker, type: "match.scraped", org_id: org, payload: {} };
      for (const headers of [
        {},
        { "x-api-key": "" },
        { "x-api-key": "wrong-key" },
        { "x-api-key": API_KEY.toUpperCase() },
        { "x-api-key": API_KEY.slice(0, -1) },
      ]) {
        const res = await webhook(ingress, event, headers);
        expect(res.status).toBe(401);
        expect(await errorOf(res)).toMatchObject({ code: "unauthorized" });
      }
      await sentinel(client, org);
      expect(seen).toHaveLength(0);
      expect(await deadLettersWith(dlqUrl, marker)).toEqual([]);
    });

    it.each(WEBHOOK_BAD_INPUT)("answers $name with $status $code", async ({ body, status, code, field }) => {
      const res = await webhook(ingress, body(uniq("bad")));
      expect(res.status).toBe(status);
      const error = await errorOf(res);
      expect(error.code).toBe(code);
      if (field !== undefined) {
        expect(error.issues).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${field}\\b`))]));
      }
    });

    // A body over the limit is refused by the transport before it is read: nothing to record. One
    // that passes it but grows over the pipeline's limit once parsed is refused and recorded.
    it.each(WEBHOOK_BAD_INPUT.filter((input) => input.status !== 413 || input.dlqCodes !== undefined))(
      "dead-letters $name (source webhook, raw input) and keeps delivering",
      async ({ body, dlqCodes }) => {
        const marker = uniq("dlq");
        const input = body(marker);
        // The webhook records the body as parsed (1e20 comes back as 100000000000000000000), or the text when it does not parse.
        const text = reserialized(asText(input));
        const res = await webhook(ingress, input);
        expect(res.status).toBeGreaterThanOrEqual(400);

        const entries = await deadLettersWith(dlqUrl, marker);
        expect(entries).toHaveLength(1);
        const entry = entries[0] as DeadLetterEntry;
        expect(entry.source).toBe("webhook");
        if (dlqCodes) expect(dlqCodes).toContain(entry.code);
        else expect(entry.code).toEqual(expect.any(String));
        if (entry.truncated) expect(text.startsWith(entry.raw)).toBe(true);
        else expect(entry.raw).toBe(text);

        await stillDelivers();
      },
    );

    it("answers 404 on a gateway started without SCRAPER_API_KEY", async () => {
      const bare = await startGateway(hub.engine === "memory" ? {} : { ...hub.redisEnv, HUB_NODE_ID: "gw-no-key" });
      extra.push(bare);
      const event = { type: "match.scraped", org_id: "123", payload: {} };
      for (const headers of [{ "x-api-key": API_KEY }, {}]) {
        const res = await webhook(bare.url, event, headers);
        expect(res.status).toBe(404);
        expect(await errorOf(res)).toMatchObject({ code: "not_found" });
      }
      // The keyed gateways do serve it.
      expect((await webhook(ingress, event)).status).toBe(202);
      await bare.stop();
    });

    it("survives 2,000 garbage posts: the valid event after them is delivered, each garbage one is dead-lettered once", async () => {
      await burstThenValid((url, body) => webhook(url, body), "webhook");
    }, 120_000);

    it("delivers 500 sequential webhook posts to one topic in order, exactly once, to clients on every node", async () => {
      const org = uniq("worder");
      const clients = await Promise.all(
        hub.gateways.map(async (g) => {
          const client = await connectClient(g.url, await userToken({ sub: uniq("u"), org_id: org }));
          expect(await request(client, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
          return client;
        }),
      );
      const seen = clients.map((c) => collect(c, "match.sequenced"));
      // One producer, each post answered before the next, alternating between two ingress nodes.
      const ids: string[] = [];
      for (let seq = 0; seq < 500; seq++) {
        const id = `${org}-${seq}`;
        const res = await webhook(seq % 2 === 0 ? ingress : ingress2, { id, type: "match.sequenced", org_id: org, payload: { seq } });
        expect(res.status).toBe(202);
        expect(await res.json()).toEqual({ id });
        ids.push(id);
      }
      for (const client of clients) await sentinel(client, org);
      for (const received of seen) {
        expect(received.map((e: Envelope) => e.id)).toEqual(ids);
        expect(received.map((e: Envelope) => (e.data as { seq: number }).seq)).toEqual(ids.map((_, seq) => seq));
      }
      if (kind !== "memory") expect(clients.length).toBeGreaterThanOrEqual(2);
    }, 120_000);
  });

  describe("internal API POST /api/v1/events", () => {
    it("refuses expired and foreign service tokens (401) and user tokens (403), publishing nothing", async () => {
      const org = uniq("auth");
      const client = await member(org, [`org:${org}`]);
      const seen = collect(client, "roster.auth_probe");
      const marker = uniq("auth");
      const event = { marker, type: "roster.auth_probe", org_id: org, payload: {} };

      const expired = await httpPublish(ingress, event, await serviceToken("svc", { expiresIn: -60 }));
      expect(expired.status).toBe(401);
      expect(await errorOf(expired)).toMatchObject({ code: "unauthorized" });

      const foreign = await httpPublish(ingress, event, await serviceToken("svc", { secret: "somebody-elses-secret-0123456789abcdef" }));
      expect(foreign.status).toBe(401);
      expect(await errorOf(foreign)).toMatchObject({ code: "unauthorized" });

      const asUser = await httpPublish(ingress, event, await userToken({ sub: "u1", org_id: org }));
      expect(asUser.status).toBe(403);
      expect(await errorOf(asUser)).toMatchObject({ code: "forbidden" });

      await sentinel(client, org);
      expect(seen).toHaveLength(0);
      expect(await deadLettersWith(dlqUrl, marker)).toEqual([]);
    });

    it("publishes a batch of 500: 202 with 500 ids, all delivered in order", async () => {
      const org = uniq("b500");
      const client = await member(org, [`org:${org}`]);
      const seen = collect(client, "roster.batch_item");
      const events = Array.from({ length: 500 }, (_, seq) => ({ type: "roster.batch_item", org_id: org, payload: { seq } }));
      const res = await httpPublish(ingress, { events });
      expect(res.status).toBe(202);
      const { ids } = (await res.json()) as { ids: string[] };
      expect(ids).toHaveLength(500);
      expect(new Set(ids).size).toBe(500);
      await sentinel(client, org);
      expect(seen.map((e) => e.id)).toEqual(ids);
      expect(seen.map((e) => (e.data as { seq: number }).seq)).toEqual(events.map((_, seq) => seq));
    });

    it("refuses a batch of 501 with 400 bad_request and delivers none of it", async () => {
      const org = uniq("b501");
      const client = await member(org, [`org:${org}`]);
      const seen = collect(client, "roster.batch_item");
      const events = Array.from({ length: 501 }, (_, seq) => ({ type: "roster.batch_item", org_id: org, payload: { seq } }));
      const res = await httpPublish(ingress, { events });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "bad_request" });
      await sentinel(client, org);
      expect(seen).toHaveLength(0);
    });

    it("refuses a batch with one invalid event: 400, nothing delivered, the invalid one dead-lettered", async () => {
      const org = uniq("bmix");
      const client = await member(org, [`org:${org}`]);
      const seen = collect(client, "roster.batch_item");
      const bad = { id: uniq("bad"), type: "roster.batch_bad", org_id: org, payload: "not an object" };
      const events = [0, 1, 2].map((seq) => ({ type: "roster.batch_item", org_id: org, payload: { seq } }));
      const res = await httpPublish(ingress, { events: [...events, bad, { type: "roster.batch_item", org_id: org, payload: { seq: 4 } }] });
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe("invalid_event");
      expect(error.issues).toEqual([expect.stringMatching(/^events\.3\.payload\b/)]);

      await sentinel(client, org);
      expect(seen).toHaveLength(0);

      const entries = (await allDeadLetters(dlqUrl)).filter((e) => e.orgId === org);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        source: "http",
        code: "invalid_event",
        type: "roster.batch_bad",
        stream: `${org}:roster.any`,
      });
      expect(JSON.parse((entries[0] as DeadLetterEntry).raw)).toEqual(bad);
    });

    it("dead-letters a single invalid event (source http, code, raw) and keeps delivering", async () => {
      const marker = uniq("single");
      const event = { marker, type: "roster.single_bad", payload: { note: "no org" } };
      const res = await httpPublish(ingress, event);
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe("invalid_event");
      expect(error.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^org_id\b/)]));
      const entries = await deadLettersWith(dlqUrl, marker);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ source: "http", code: "invalid_event", stream: "_unknown" });
      expect(JSON.parse((entries[0] as DeadLetterEntry).raw)).toEqual(event);
      await stillDelivers();
    });

    it("takes a single event that carries an extra top-level `events` field as one event, not a batch", async () => {
      const org = uniq("evfield");
      const client = await member(org, [`org:${org}`]);
      const seen = collect(client, "roster.with_events");
      const id = uniq("one");
      const res = await httpPublish(ingress, { id, type: "roster.with_events", org_id: org, payload: { n: 1 }, events: [1, 2, 3] });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ ids: [id] });
      // `type` decides: with one, even a non-list `events` is just another field.
      const id2 = uniq("two");
      const res2 = await httpPublish(ingress, { id: id2, type: "roster.with_events", org_id: org, payload: { n: 2 }, events: "x" });
      expect(res2.status).toBe(202);
      expect(await res2.json()).toEqual({ ids: [id2] });
      await sentinel(client, org);
      expect(seen.map((e) => [e.id, e.data])).toEqual([
        [id, { n: 1 }],
        [id2, { n: 2 }],
      ]);
      // Without `type`, `events` is a batch, and one that is not a list is refused.
      const notList = await httpPublish(ingress, { events: "x" });
      expect(notList.status).toBe(400);
      expect(await errorOf(notList)).toMatchObject({ code: "bad_request" });
    });

    it("survives 2,000 garbage requests: the valid event after them is delivered, each garbage one is dead-lettered once", async () => {
      await burstThenValid((url, body) => httpPublishText(url, body), "http");
    }, 120_000);

    it("dead-letters a non-JSON body (source http, raw) and keeps delivering", async () => {
      const marker = uniq("nonjson");
      const text = `{"marker":"${marker}",`;
      const res = await httpPublishText(ingress, text);
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "invalid_json" });
      const entries = await deadLettersWith(dlqUrl, marker);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ source: "http", raw: text, code: "invalid_json" });
      await stillDelivers();
    });
  });

  describe("idempotency", () => {
    /** Publishes `event` through each of `publishers` (each must answer 202), then checks it arrived once. */
    async function publishedOnce(publishers: Array<(event: object) => Promise<Response>>) {
      const org = uniq("idem");
      const client = await member(org, [`org:${org}`]);
      const seen = collect(client, "scrim_request.accepted");
      const id = uniq("dup");
      const event = { id, type: "scrim_request.accepted", org_id: org, payload: { scrim: 1 } };
      for (const publish of publishers) {
        const res = await publish(event);
        expect(res.status).toBe(202);
        const body = (await res.json()) as { id?: string; ids?: string[] };
        expect(body.id ?? body.ids?.[0]).toBe(id);
      }
      await sentinel(client, org);
      expect(seen.map((e) => e.id)).toEqual([id]);
    }

    it("accepts the same id twice over HTTP and delivers it once", async () => {
      await publishedOnce([(e) => httpPublish(ingress, e), (e) => httpPublish(ingress, e)]);
    });

    it("accepts the same id twice over the webhook and delivers it once", async () => {
      await publishedOnce([(e) => webhook(ingress, e), (e) => webhook(ingress, e)]);
    });

    it("accepts the same id over HTTP then the webhook and delivers it once", async () => {
      await publishedOnce([(e) => httpPublish(ingress, e), (e) => webhook(ingress, e)]);
    });

    // Several nodes exist only on the redis engine.
    if (kind !== "memory")
      it("accepts the same id on two different nodes and delivers it once", async () => {
        expect(ingress2).not.toBe(ingress);
        await publishedOnce([(e) => httpPublish(ingress, e), (e) => httpPublish(ingress2, e)]);
        await publishedOnce([(e) => webhook(ingress, e), (e) => webhook(ingress2, e)]);
        await publishedOnce([(e) => webhook(ingress2, e), (e) => httpPublish(ingress, e)]);
      });
  });

  describe("hierarchical staff fan-out", () => {
    it("staff.team.updated reaches the teams, team and department topics, once per topic", async () => {
      const all = await member("o1", ["staff:o1:teams", "staff:o1:team:t1", "staff:o1:department:d1", "org:o1"]);
      const teamOnly = await member("o1", ["staff:o1:team:t1", "org:o1"]);
      const allSeen = collect(all, "staff.team.updated");
      const teamSeen = collect(teamOnly, "staff.team.updated");
      const res = await httpPublish(ingress, { type: "staff.team.updated", org_id: "o1", payload: { uuid: "t1", department_uuid: "d1" } });
      expect(res.status).toBe(202);
      const [id] = ((await res.json()) as { ids: string[] }).ids;
      await sentinel(all, "o1");
      await sentinel(teamOnly, "o1");

      expect(allSeen).toHaveLength(3);
      expect(allSeen.map((e) => e.topic).sort()).toEqual(["staff:o1:department:d1", "staff:o1:team:t1", "staff:o1:teams"]);
      for (const envelope of allSeen) {
        expect(envelope).toMatchObject({ id, type: "staff.team.updated", org_id: "o1", data: { uuid: "t1", department_uuid: "d1" } });
      }
      expect(teamSeen).toHaveLength(1);
      expect(teamSeen[0]).toMatchObject({ id, topic: "staff:o1:team:t1" });
    });

    it("refuses staff topics of another org (forbidden) and of an undeclared family (invalid_topic)", async () => {
      const outsider = await member("o2", []);
      expect(await request(outsider, "subscribe", { topic: "staff:o1:teams" })).toMatchObject({ ok: false, error: { code: "forbidden" } });
      expect(await request(outsider, "subscribe", { topic: "staff:o1:team:t1" })).toMatchObject({
        ok: false,
        error: { code: "forbidden" },
      });
      const insider = await member("o1", []);
      expect(await request(insider, "subscribe", { topic: "staff:o1:squad:x" })).toMatchObject({
        ok: false,
        error: { code: "invalid_topic" },
      });
      expect(await request(insider, "subscribe", { topic: "staff:o1:teams" })).toMatchObject({ ok: true });
    });

    it("staff.membership.added reaches the teams, team, people and person topics", async () => {
      const topics = ["staff:o3:teams", "staff:o3:team:tm1", "staff:o3:people", "staff:o3:person:pm1"];
      const client = await member("o3", [...topics, "org:o3"]);
      const seen = collect(client, "staff.membership.added");
      const id = uniq("mem");
      const payload = { team_uuid: "tm1", person_uuid: "pm1" };
      expect((await webhook(ingress, { id, type: "staff.membership.added", org_id: "o3", payload })).status).toBe(202);
      await sentinel(client, "o3");
      expect(seen.map((e) => e.topic).sort()).toEqual([...topics].sort());
      for (const envelope of seen) expect(envelope).toMatchObject({ id, type: "staff.membership.added", data: payload });
    });
  });

  describe("sensitive fields", () => {
    it("delivers notification.created without recipient_email, other fields intact", async () => {
      const user = uniq("rcpt");
      const client = await member("s1", [`notifications:${user}`], user);
      const id = uniq("note");
      const arrived = nextEvent(client, "notification.created", id);
      const payload = {
        id: 77,
        title: "Scrim tonight",
        body: "at 8",
        kind: "scrim",
        link: "/s/1",
        recipient_email: "alice.private@example.com",
      };
      expect((await httpPublish(ingress, { id, type: "notification.created", org_id: "s1", user_id: user, payload })).status).toBe(202);
      const { recipient_email: _, ...rest } = payload;
      const msg = await arrived;
      expect(msg.data).toEqual({ notification: rest });
      expect(JSON.stringify(msg)).not.toContain("alice.private");
    });

    it("delivers staff.person.updated without email, on both its topics", async () => {
      const client = await member("s2", ["staff:s2:people", "staff:s2:person:p1", "org:s2"]);
      const seen = collect(client, "staff.person.updated");
      const payload = { uuid: "p1", name: "Bo", role: "coach", email: "bo.private@example.com" };
      expect((await webhook(ingress, { type: "staff.person.updated", org_id: "s2", payload })).status).toBe(202);
      await sentinel(client, "s2");
      expect(seen).toHaveLength(2);
      for (const envelope of seen) expect(envelope.data).toEqual({ uuid: "p1", name: "Bo", role: "coach" });
    });

    it("keeps sensitive fields out of the dead-letter queue and the error answer", async () => {
      const invalidNote = {
        type: "notification.created",
        org_id: "s3",
        user_id: "u1",
        payload: { title: 42, recipient_email: "carol.private@example.com" },
      };
      const res = await httpPublish(ingress, invalidNote);
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain("invalid_event");
      expect(text).not.toContain("carol.private");

      const invalidPerson = { type: "staff.person.updated", org_id: "s3", payload: { name: "Dee", email: "dee.private@example.com" } };
      const res2 = await webhook(ingress, invalidPerson);
      expect(res2.status).toBe(400);
      expect(await res2.text()).not.toContain("dee.private");

      const entries = (await allDeadLetters(dlqUrl)).filter((e) => e.orgId === "s3");
      const note = entries.find((e) => e.type === "notification.created");
      const person = entries.find((e) => e.type === "staff.person.updated");
      expect(note).toMatchObject({ source: "http", code: "invalid_event" });
      expect(JSON.parse(note?.raw ?? "null")).toEqual({ ...invalidNote, payload: { title: 42 } });
      expect(person).toMatchObject({ source: "webhook", code: "invalid_event" });
      expect(JSON.parse(person?.raw ?? "null")).toEqual({ ...invalidPerson, payload: { name: "Dee" } });
      expect(JSON.stringify(entries)).not.toMatch(/carol\.private|dee\.private/);
    });

    it("keeps sensitive fields out of the dead-letter queue for an unknown version of the type too", async () => {
      const event = {
        type: "notification.created.v7",
        org_id: "s5",
        user_id: "u1",
        payload: { title: "t", recipient_email: "frank.private@example.com" },
      };
      const res = await httpPublish(ingress, event);
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "unknown_type" });
      const entries = (await allDeadLetters(dlqUrl)).filter((e) => e.orgId === "s5");
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ source: "http", code: "unknown_type", type: "notification.created.v7" });
      expect(entries[0]?.raw).toContain('"title":"t"');
      expect(entries[0]?.raw).not.toContain("frank.private");
    });

    it("never writes a sensitive value to any gateway's logs", async () => {
      const secret = `${uniq("eve")}@example.com`;
      const user = uniq("rcpt");
      const good = { type: "notification.created", org_id: "s4", user_id: user, payload: { title: "t", recipient_email: secret } };
      const bad = { type: "notification.created", org_id: "s4", user_id: user, payload: { title: ["x"], recipient_email: secret } };
      const noRoute = { type: "notification.created", org_id: "s4", payload: { recipient_email: secret } };
      expect((await httpPublish(ingress, good)).status).toBe(202);
      expect((await httpPublish(ingress, bad)).status).toBe(400);
      expect((await httpPublish(ingress, noRoute)).status).toBe(400);
      expect((await webhook(ingress, bad)).status).toBe(400);
      expect((await webhook(ingress, { type: "staff.person.created", org_id: "s4", payload: { uuid: "p9", email: secret } })).status).toBe(
        202,
      );
      expect((await webhook(ingress, { type: "staff.person.created", org_id: "s4", payload: { email: secret } })).status).toBe(400);

      for (const gateway of hub.gateways) {
        // Logs are in order on the pipe: once a line logged after the publishes is in, so is every earlier one.
        const from = gateway.logs.length;
        const flushed = gateway.waitForLog((line) => line.msg === "handshake refused" && gateway.logs.indexOf(line) >= from);
        await refusal(gateway.url, {});
        await flushed;
        expect(gateway.logs.length).toBeGreaterThan(0);
        expect(JSON.stringify(gateway.logs)).not.toContain(secret);
        expect(gateway.stderr()).not.toContain(secret);
      }
    });
  });

  describe("versioned types", () => {
    it("tournament_match.confirmed.v2 requires match_id and confirmed_at, and is delivered as match_confirmed", async () => {
      const tournament = uniq("tour");
      const client = await member("v1", [`tournament:${tournament}`, "org:v1"]);
      const seen = collect(client, "match_confirmed");

      const missing = await httpPublish(ingress, {
        type: "tournament_match.confirmed.v2",
        org_id: "v1",
        payload: { tournament_id: tournament },
      });
      expect(missing.status).toBe(400);
      const error = await errorOf(missing);
      expect(error.code).toBe("invalid_event");
      expect(error.issues).toEqual(
        expect.arrayContaining([expect.stringMatching(/^payload\.match_id\b/), expect.stringMatching(/^payload\.confirmed_at\b/)]),
      );
      const badTime = await webhook(ingress, {
        type: "tournament_match.confirmed.v2",
        org_id: "v1",
        payload: { tournament_id: tournament, match_id: 5, confirmed_at: "yesterday" },
      });
      expect(badTime.status).toBe(400);
      expect(await errorOf(badTime)).toMatchObject({ code: "invalid_event", issues: [expect.stringMatching(/^payload\.confirmed_at\b/)] });

      const payload = { tournament_id: tournament, match_id: 5, confirmed_at: "2025-03-01T18:00:00Z" };
      const ok = await httpPublish(ingress, { type: "tournament_match.confirmed.v2", org_id: "v1", payload });
      expect(ok.status).toBe(202);
      const [id] = ((await ok.json()) as { ids: string[] }).ids;
      await sentinel(client, "v1");
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        id,
        type: "tournament_match.confirmed.v2",
        topic: `tournament:${tournament}`,
        data: { match: payload },
      });
    });

    it("refuses an unknown version: notification.created.v7 -> 400 unknown_type", async () => {
      const res = await httpPublish(ingress, { type: "notification.created.v7", org_id: "v2", user_id: "u1", payload: { title: "t" } });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "unknown_type" });
      const viaWebhook = await webhook(ingress, { type: "notification.created.v7", org_id: "v2", user_id: "u1", payload: {} });
      expect(viaWebhook.status).toBe(400);
      expect(await errorOf(viaWebhook)).toMatchObject({ code: "unknown_type" });
    });

    it("delivers a family type with a version (roster.player_hired.v2) under its full name", async () => {
      const client = await member("v3", ["org:v3"]);
      const id = uniq("hired");
      const arrived = nextEvent(client, "roster.player_hired.v2", id);
      const res = await httpPublish(ingress, { id, type: "roster.player_hired.v2", org_id: "v3", payload: { player_id: 7, salary: 10 } });
      expect(res.status).toBe(202);
      expect(await arrived).toMatchObject({ id, type: "roster.player_hired.v2", topic: "org:v3", data: { player_id: 7, salary: 10 } });
    });
  });

  // The emitter SDK publishes through Redis: ordering across nodes is a redis-engine matter.
  if (kind !== "memory")
    describe("ordering", () => {
      it("keeps the publish order of 3,000 un-awaited emitter publishes on every node", async () => {
        const org = uniq("order");
        const clients = await Promise.all(
          hub.gateways.map(async (g) => {
            const client = await connectClient(g.url, await userToken({ sub: uniq("u"), org_id: org }));
            expect(await request(client, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
            return client;
          }),
        );
        const seen = clients.map((c) => collect(c, "roster.sequenced"));
        const producer = hub.connectProducer?.() as RedisClient;
        try {
          const emitter = createHubEmitter({ redis: producer });
          const pending = Array.from({ length: 3000 }, (_, seq) =>
            emitter.publish({ id: `${org}-${seq}`, type: "roster.sequenced", org_id: org, payload: { seq } }),
          );
          const results = await Promise.all(pending);
          expect(results.every((r) => !r.duplicate)).toBe(true);
          const sentinelId = uniq("sentinel");
          const arrivals = clients.map((c) => nextEvent(c, "roster.sequenced", sentinelId));
          await emitter.publish({ id: sentinelId, type: "roster.sequenced", org_id: org, payload: { seq: 3000 } });
          await Promise.all(arrivals);
        } finally {
          producer.disconnect();
        }
        const expected = Array.from({ length: 3001 }, (_, seq) => seq);
        for (const received of seen) expect(received.map((e: Envelope) => (e.data as { seq: number }).seq)).toEqual(expected);
      });
    });
});
