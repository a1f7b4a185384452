import {
  closeAllClients,
  collect,
  connectClient,
  freePort,
  type GatewayProcess,
  type RedisServer,
  request,
  serviceToken,
  startGateway,
  startRedis,
  until,
  userToken,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import { type ProducerEvent, roomOf } from "@hub/events";
import { hubKeys } from "@hub/store";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ConnectHubOptions, connectHub, type Hub, HubError } from "../src/index.js";
import { nextHubEvent, record } from "./recorder.js";

// One gateway on a fixed port, so a test can stop it and start it again where clients look for it.
let redis: RedisServer;
let gateway: GatewayProcess;
let port: number;
let producer: Redis;
let emitter: HubEmitter;
const hubs: Hub[] = [];
let run = 0;

// WRITE_DELAY_MS: a burst reaches the SDK in batch frames, so every test here runs over them.
const startNode = () => startGateway({ REDIS_URL: redis.url, PORT: String(port), HUB_NODE_ID: "client-sdk-gw", WRITE_DELAY_MS: "50" });
const url = () => `http://127.0.0.1:${port}`;
/** A fresh org per test, so no test sees another's history. */
const nextOrg = () => `sdk${++run}-${Date.now().toString(36)}`;
const hire = (id: string, org: string): ProducerEvent => ({ id, type: "roster.player_hired", org_id: org, payload: { n: id } });
const notify = (id: string, user: string): ProducerEvent => ({
  id,
  type: "notification.created",
  org_id: "o1",
  user_id: user,
  payload: { id },
});
const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

function open(options: Partial<ConnectHubOptions> & ({ token: string } | { getToken: () => Promise<string> })): Hub {
  const hub = connectHub({
    url: url(),
    socketOptions: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 500 },
    ...options,
  } as ConnectHubOptions);
  hubs.push(hub);
  return hub;
}

async function member(sub: string, org: string): Promise<Hub> {
  const hub = open({ token: await userToken({ sub, org_id: org }) });
  await hub.ready();
  return hub;
}

/** Publishes in order: un-awaited publishes on one connection keep their order. */
const publishAll = (events: ProducerEvent[]) => Promise.all(events.map((event) => emitter.publish(event)));

beforeAll(async () => {
  redis = await startRedis();
  port = await freePort();
  gateway = await startNode();
  producer = new Redis(redis.url);
  emitter = createHubEmitter({ redis: producer });
});

afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
  closeAllClients();
});

afterAll(async () => {
  producer?.disconnect();
  await gateway?.stop();
  await redis?.stop();
});

describe("@hub/client against a real gateway", () => {
  it("subscribes and delivers typed events, with positions; subscribers of one topic share it", async () => {
    const org = nextOrg();
    const hub = await member("u1", org);
    const first = record(hub, `org:${org}`);
    const second = record(hub, `org:${org}`);
    const tournament = record(hub, `tournament:${org}`);
    await first.subscribed.until("org subscribed", (s) => s.length === 1);
    await second.subscribed.until("second subscriber told", (s) => s.length === 1);
    await tournament.subscribed.until("tournament subscribed", (s) => s.length === 1);
    expect(first.subscribed.items[0]).toEqual({ topic: `org:${org}`, position: { offset: 0, epoch: expect.any(String) } });

    await emitter.publish(hire("h1", org));
    await emitter.publish({ id: "m1", type: "tournament_match.confirmed", org_id: org, payload: { tournament_id: org, id: 7 } });
    await first.events.until("h1", (e) => e.length === 1);
    await tournament.events.until("m1", (e) => e.length === 1);
    const [hired] = first.events.items;
    expect(hired?.event).toBe("roster.player_hired");
    expect(hired?.envelope).toMatchObject({ id: "h1", topic: `org:${org}`, org_id: org, data: { n: "h1" }, offset: 1 });
    const [match] = tournament.events.items;
    expect(match?.event).toBe("match_confirmed");
    expect(match?.envelope.data).toEqual({ match: { tournament_id: org, id: 7 } });

    await second.events.until("h1 for the second subscriber", (e) => e.length === 1);
    second.off();
    await emitter.publish(hire("h2", org));
    await first.events.until("h2", (e) => e.length === 2);
    expect(first.ids()).toEqual(["h1", "h2"]);
    expect(second.ids()).toEqual(["h1"]);
  });

  it("batch frames: a burst comes in frames the SDK unpacks, every event once and in order (and with coalesce: false, single frames)", async () => {
    const org = nextOrg();
    const batches = async () => {
      const text = await (await fetch(`${url()}/metrics`)).text();
      return Number(
        text
          .split("\n")
          .find((line) => line.startsWith("hub_write_batches_total "))
          ?.split(" ")[1],
      );
    };
    const coalescing = await member("u1", org);
    const single = open({ token: await userToken({ sub: "u2", org_id: org }), coalesce: false });
    await single.ready();
    const topics = [record(coalescing, `org:${org}`), record(single, `org:${org}`)];
    for (const topic of topics) await topic.subscribed.until("subscribed", (s) => s.length === 1);

    const before = await batches();
    await publishAll(range("b", 1, 40).map((id) => hire(id, org)));
    for (const topic of topics) await topic.events.until("the burst", (e) => e.length === 40);
    for (const topic of topics) {
      expect(topic.ids()).toEqual(range("b", 1, 40));
      expect(topic.events.items.map((e) => e.envelope.offset)).toEqual(range("", 1, 40).map(Number));
    }
    // Only the SDK that asked got batches: at most one per event, and at least one.
    const written = (await batches()) - before;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(40);
  });

  it("a gateway restart: after reconnecting the client gets every missed event once, in order, then live ones", async () => {
    const org = nextOrg();
    const hub = await member("u1", org);
    const reconnects: number[] = [];
    hub.on("reconnect", () => reconnects.push(Date.now()));
    const topic = record(hub, `org:${org}`);
    await topic.subscribed.until("subscribed", (s) => s.length === 1);
    await publishAll([hire("e1", org), hire("e2", org)]);
    await topic.events.until("e1, e2", (e) => e.length === 2);

    const down = nextHubEvent(hub, "disconnect");
    await gateway.stop();
    await down;
    expect(hub.connected).toBe(false);
    await publishAll(range("m", 1, 20).map((id) => hire(id, org)));
    gateway = await startNode();

    await topic.subscribed.until("the resubscribe", (s) => s.length === 2);
    expect(topic.subscribed.items[1]).toMatchObject({ recovered: true, position: { offset: 22 } });
    await publishAll([hire("l1", org), hire("l2", org)]);
    await topic.events.until("l2", (e) => e.some((x) => x.envelope.id === "l2"));
    expect(topic.ids()).toEqual(["e1", "e2", ...range("m", 1, 20), "l1", "l2"]);
    expect(topic.events.items.map((e) => e.envelope.offset)).toEqual(range("", 1, 24).map(Number));
    expect(topic.recoveryFailed.items).toEqual([]);
    expect(reconnects).toHaveLength(1);
  });

  it("recovered: false (Redis lost its data while the client was away) calls onRecoveryFailed, then live events flow", async () => {
    const org = nextOrg();
    const hub = await member("u1", org);
    const topic = record(hub, `org:${org}`);
    await topic.subscribed.until("subscribed", (s) => s.length === 1);
    await emitter.publish(hire("f1", org));
    await topic.events.until("f1", (e) => e.length === 1);

    const down = nextHubEvent(hub, "disconnect");
    await gateway.stop();
    await down;
    await producer.flushall();
    await emitter.publish(hire("f2", org)); // in the new epoch: not replayable to this client
    gateway = await startNode();

    await topic.recoveryFailed.until("onRecoveryFailed", (r) => r.length === 1);
    expect(topic.recoveryFailed.items).toEqual([`org:${org}`]);
    const resubscribe = topic.subscribed.items[1];
    expect(resubscribe).toMatchObject({ recovered: false, position: { offset: 1 } });
    expect(resubscribe?.position?.epoch).not.toBe(topic.events.items[0]?.envelope.epoch);

    await emitter.publish(hire("f3", org));
    await topic.events.until("f3", (e) => e.length === 2);
    expect(topic.ids()).toEqual(["f1", "f3"]);
    expect(topic.events.items[1]?.envelope).toMatchObject({ offset: 2, epoch: resubscribe?.position?.epoch });
  });

  it("dedupes by envelope id: store-and-forward sends unacknowledged notifications again, onEvent sees them once", async () => {
    const user = `dd${++run}`;
    const hub = await member(user, "o1");
    const before = record(hub, `notifications:${user}`);
    await before.subscribed.until("subscribed", (s) => s.length === 1);
    await publishAll([notify("n1", user), notify("n2", user), notify("n3", user)]);
    await before.events.until("n1..n3", (e) => e.length === 3);
    before.off();

    // A second device proves the hub sends them again on a new subscribe (nothing was acknowledged).
    const device = await connectClient(url(), await userToken({ sub: user, org_id: "o1" }));
    const redelivered = collect(device, "notification.created");
    await request(device, "subscribe", { topic: `notifications:${user}` });
    expect(redelivered.map((e) => e.id)).toEqual(["n1", "n2", "n3"]);

    const after = record(hub, `notifications:${user}`);
    await after.subscribed.until("subscribed again", (s) => s.length === 1);
    await emitter.publish(notify("n4", user));
    await after.events.until("n4", (e) => e.length >= 1);
    expect(after.ids()).toEqual(["n4"]);
  });

  it("autoAck acknowledges what onEvent processed: another device is not sent it again", async () => {
    const user = `aa${++run}`;
    const keys = hubKeys();
    const hub = await member(user, "o1");
    const topic = record(hub, `notifications:${user}`, { autoAck: true });
    await topic.subscribed.until("subscribed", (s) => s.length === 1);
    await publishAll(range("a", 1, 5).map((id) => notify(id, user)));
    await topic.events.until("a1..a5", (e) => e.length === 5);
    const epoch = topic.events.items[4]?.envelope.epoch;
    await until(
      "the cursor at 5",
      async () =>
        (await producer.get(
          keys.history(roomOf(`notifications:${user}`, { name: "notifications", scope: "user", authorize: "scope", streamed: false }, "o1"))
            .cursor,
        )) === `${epoch}:5`,
    );

    const other = await member(user, "o1");
    const fresh = record(other, `notifications:${user}`);
    await fresh.subscribed.until("subscribed on the other device", (s) => s.length === 1);
    expect(fresh.ids()).toEqual([]);

    expect(await hub.ack(`notifications:${user}`, 5)).toBe(5);
    await expect(hub.ack(`notifications:someone-else`, 1)).rejects.toMatchObject({ code: "forbidden" });
  });

  it("refreshes a short-lived token through getToken before it expires: the gateway keeps the connection", async () => {
    const org = nextOrg();
    let calls = 0;
    const hub = open({
      getToken: () => {
        calls++;
        return userToken({ sub: "u1", org_id: org }, { expiresIn: 5 });
      },
    });
    const disconnects: string[] = [];
    hub.on("disconnect", (reason) => disconnects.push(reason));
    const topic = record(hub, `org:${org}`);
    await topic.subscribed.until("subscribed", (s) => s.length === 1);
    // The handshake's token expires ~5 s in; the second refresh comes after that.
    await until("two refreshes", () => calls >= 3, 25_000);
    expect(disconnects).toEqual([]);
    await emitter.publish(hire("r1", org));
    await topic.events.until("r1", (e) => e.length === 1);
    expect(topic.subscribed.items).toHaveLength(1);
    expect(hub.connected).toBe(true);
  }, 45_000);

  it("a failed refresh reconnects with a fresh token, and the subscription resumes without a gap", async () => {
    const org = nextOrg();
    let calls = 0;
    const hub = open({
      getToken: async () => {
        calls++;
        if (calls === 2) throw new Error("token service down");
        return userToken({ sub: "u1", org_id: org }, { expiresIn: 4 });
      },
    });
    const errors: HubError[] = [];
    hub.on("error", (error) => errors.push(error));
    const topic = record(hub, `org:${org}`);
    await topic.subscribed.until("subscribed", (s) => s.length === 1);
    await emitter.publish(hire("b1", org));
    await topic.subscribed.until("the resubscribe after the failed refresh", (s) => s.length === 2, 25_000);
    expect(errors[0]).toMatchObject({ code: "token_invalid", message: expect.stringContaining("token service down") });
    expect(topic.subscribed.items[1]).toMatchObject({ recovered: true });
    await emitter.publish(hire("b2", org));
    await topic.events.until("b2", (e) => e.length === 2);
    expect(topic.ids()).toEqual(["b1", "b2"]);
  }, 45_000);

  it("a static token that expires: auth.expired, then the refused handshake is reported as token_expired", async () => {
    const hub = open({ token: await userToken({ sub: "u1", org_id: "o1" }, { expiresIn: 2 }) });
    await hub.ready();
    const refused = new Promise<HubError>((resolve) => hub.on("error", resolve));
    const error = await refused;
    expect(error).toBeInstanceOf(HubError);
    expect(error.code).toBe("token_expired");
    expect(hub.connected).toBe(false);
  });

  it("maps refused handshakes to token_missing, token_invalid and token_expired", async () => {
    const cases: Array<[string, string]> = [
      ["", "token_missing"],
      ["not-a-jwt", "token_invalid"],
      [await userToken({ sub: "u1", org_id: "o1" }, { expiresIn: -10 }), "token_expired"],
    ];
    for (const [token, code] of cases) {
      const hub = open({ token });
      await expect(hub.ready()).rejects.toMatchObject({ name: "HubError", code });
    }
    const failing = open({ getToken: () => Promise.reject(new Error("no session")) });
    await expect(failing.ready()).rejects.toMatchObject({ code: "token_missing", message: "getToken failed: no session" });
  });

  it("presence lists the users on a topic", async () => {
    const org = nextOrg();
    const alice = await member("alice", org);
    const bob = await member("bob", org);
    const watch = record(alice, `org:${org}`);
    await watch.subscribed.until("alice subscribed", (s) => s.length === 1);
    record(bob, `org:${org}`);
    await watch.presence.until("bob's presence.join", (e) =>
      e.some((x) => x.event === "presence.join" && (x.envelope.data as { user_id?: string }).user_id === "bob"),
    );
    const members = await alice.presence(`org:${org}`);
    expect(members.map((m) => m.user_id).sort()).toEqual(["alice", "bob"]);
    expect(members[0]).toMatchObject({ connections: 1, joined_at: expect.any(Number) });
    await expect(alice.presence("org:not-mine")).rejects.toMatchObject({ code: "forbidden" });
    await expect(alice.presence(`tournament:${org}`)).rejects.toMatchObject({ code: "bad_request" });
  });

  it("inhouse commands resolve with their command ids", async () => {
    const org = nextOrg();
    const hub = await member("u1", org);
    // Users act on queues that exist only; no worker runs here, so the queue's state is written as a worker would.
    const queue = { id: "evening", org_id: org, status: "open", capacity: 10, players: [], check_in_deadline: null, version: 1 };
    await producer.hset(hubKeys().queue(`${org}/evening`).state, "queue", JSON.stringify(queue), "version", 1);
    await expect(hub.inhouse.join("made-up")).rejects.toMatchObject({ code: "not_found" });
    const ids = [await hub.inhouse.join("evening"), await hub.inhouse.checkIn("evening"), await hub.inhouse.leave("evening")];
    for (const id of ids) expect(id).toEqual(expect.any(String));
    expect(new Set(ids).size).toBe(3);
    await expect(hub.inhouse.join("bad queue id")).rejects.toMatchObject({ code: "bad_request" });
  });

  it("a refused subscribe reaches onError as a HubError with the contract's code, and is dropped", async () => {
    const hub = await member("u1", "mine");
    const forbidden = record(hub, "org:theirs");
    const invalid = record(hub, "org:");
    const unknown = record(hub, "nope:1");
    await forbidden.errors.until("forbidden", (e) => e.length === 1);
    await invalid.errors.until("invalid_topic", (e) => e.length === 1);
    await unknown.errors.until("unknown_namespace", (e) => e.length === 1);
    expect(forbidden.errors.items[0]).toBeInstanceOf(HubError);
    expect([forbidden, invalid, unknown].map((r) => r.errors.items[0]?.code)).toEqual(["forbidden", "invalid_topic", "unknown_namespace"]);
    expect(forbidden.subscribed.items).toEqual([]);
    forbidden.off(); // a no-op once dropped

    const service = open({ token: await serviceToken() });
    await service.ready();
    await expect(service.inhouse.join("q")).rejects.toMatchObject({ code: "forbidden" });
  });

  it("close() settles everything: requests after it fail with closed", async () => {
    const hub = await member("u1", "o1");
    hub.close();
    expect(hub.connected).toBe(false);
    await expect(hub.presence("org:o1")).rejects.toMatchObject({ code: "closed" });
    await expect(hub.ready()).rejects.toMatchObject({ code: "closed" });
    expect(() => hub.subscribe("org:o1", { onEvent: () => {} })).toThrow(HubError);
    await expect(hub.publish("chat:c1", "message:send", { text: "late" })).rejects.toMatchObject({ code: "closed" });
    expect(() => hub.typing("chat:c1")).toThrow(HubError);
  });
});
