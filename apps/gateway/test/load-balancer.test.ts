// Three real gateway nodes behind the real HAProxy configuration (infra/haproxy/haproxy.cfg), the
// same file docker-compose uses, pointed at them through its environment variables.
import { randomUUID } from "node:crypto";
import { connectHub, type Hub } from "@hub/client";
import {
  type GatewayProcess,
  type HubClient,
  nextEvent,
  type RedisServer,
  request,
  startGateway,
  startRedis,
  until,
  userToken,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import type { Envelope } from "@hub/events";
import { Redis } from "ioredis";
import { io } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type HaproxyProcess, startHaproxy } from "./haproxy-process.js";

const NODE_IDS = ["lb-node-1", "lb-node-2", "lb-node-3"] as const;

let redis: RedisServer | undefined;
let publisherRedis: Redis | undefined;
let hub: HubEmitter;
let gateways: GatewayProcess[] = [];
let haproxy: HaproxyProcess | undefined;
/** Clients this file opens itself (with `io()`, for `withCredentials`). */
const clients = new Set<HubClient>();

beforeAll(async () => {
  redis = await startRedis();
  const redisUrl = redis.url;
  gateways = await Promise.all(NODE_IDS.map((id) => startGateway({ HUB_NODE_ID: id, REDIS_URL: redisUrl })));
  haproxy = await startHaproxy({ ports: gateways.map((g) => g.port) as [number, number, number] });
  publisherRedis = new Redis(redisUrl, { lazyConnect: true });
  await publisherRedis.connect();
  hub = createHubEmitter({ redis: publisherRedis });
});

afterEach(() => {
  for (const socket of clients) socket.close();
  clients.clear();
});

afterAll(async () => {
  for (const socket of clients) socket.close();
  clients.clear();
  await publisherRedis?.quit().catch(() => undefined);
  // Front to back: the balancer first, so no gateway waits on its pooled connections while draining.
  await haproxy?.stop();
  await Promise.allSettled(gateways.map((g) => g.stop()));
  await redis?.stop();
});

describe("HAProxy in front of three gateways", () => {
  it("keeps a long-polling session on one node across many HTTP round trips (sticky cookie)", async () => {
    const socket = await connectThroughLb(await userToken({ sub: "lb-user-a", org_id: "71" }), ["polling"]);
    const watch = watchSession(socket);
    const { id: socketId } = socket;
    const sid = engineOf(socket).id;
    const cookie = serverCookie(socket);
    expect(engineOf(socket).transport.name).toBe("polling");
    expect(cookie).toMatch(/^gw[123]$/);

    await expect(request(socket, "subscribe", { topic: "org:71" })).resolves.toMatchObject({ ok: true, topic: "org:71" });
    await publishAndReceive(socket, "71");

    for (let round = 0; round < 20; round++) {
      await expect(request(socket, "unsubscribe", { topic: "org:71" })).resolves.toMatchObject({ ok: true });
      await expect(request(socket, "subscribe", { topic: "org:71" })).resolves.toMatchObject({ ok: true });
      await publishAndReceive(socket, "71");
    }

    // 20 rounds of 2 acks + 1 event, each needing a POST and a completed long-poll GET.
    expect(watch.pollsCompleted()).toBeGreaterThanOrEqual(40);
    expect(watch.problems, `haproxy:\n${haproxyOrThrow().output().slice(-4000)}`).toEqual([]);
    expect(socket.connected).toBe(true);
    expect(socket.id).toBe(socketId);
    expect(engineOf(socket).id).toBe(sid);
    expect(engineOf(socket).transport.name).toBe("polling");
    expect(serverCookie(socket)).toBe(cookie);
  });

  it("spreads long-polling clients over several nodes, each session living on its own node only", async () => {
    const token = await userToken({ sub: "lb-user-b", org_id: "72" });
    const sockets: HubClient[] = [];
    for (let i = 0; i < 6; i++) sockets.push(await connectThroughLb(token, ["polling"]));
    const watches = sockets.map(watchSession);

    const placements = await Promise.all(
      sockets.map(async (socket) => ({ sid: engineOf(socket).id, node: await nodeOfCookie(serverCookie(socket)) })),
    );
    const nodes = new Set(placements.map((p) => p.node));
    expect(nodes.size, `sessions by node: ${JSON.stringify(placements)}`).toBeGreaterThan(1);

    // The cookie names the node that holds the session: every other node has never heard of it,
    // so a request that reached one of them (no stickiness) would fail.
    for (const { sid, node } of placements) {
      for (const gateway of gateways.filter((_, i) => NODE_IDS[i] !== node)) {
        const response = await fetch(`${gateway.url}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`);
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ message: "Session ID unknown" });
      }
    }

    // One publish reaches every client, whichever node it is pinned to, and nobody lost a session.
    for (const socket of sockets) {
      await expect(request(socket, "subscribe", { topic: "org:72" })).resolves.toMatchObject({ ok: true });
    }
    const id = randomUUID();
    const arriving = Promise.all(sockets.map((socket) => nextEvent(socket, "roster.player_hired", id)));
    await hub.publish({ id, type: "roster.player_hired", org_id: "72", payload: { player_id: "p-72" } });
    const received = await arriving;
    for (const envelope of received) expect(envelope).toMatchObject({ id, topic: "org:72" });
    for (const watch of watches) expect(watch.problems).toEqual([]);
  });

  it("loses a long-polling session without the cookie (round robin sends its requests to other nodes)", async () => {
    const token = await userToken({ sub: "lb-user-c", org_id: "73" });
    const socket = io(haproxyOrThrow().url, {
      auth: { token },
      transports: ["polling"],
      withCredentials: false,
      reconnection: false,
      forceNew: true,
    }) as HubClient;
    clients.add(socket);
    const failure = await new Promise<string>((resolve) => {
      socket.once("connect", () => resolve("connected"));
      socket.once("connect_error", (error) => resolve(`connect_error: ${error.message}`));
      socket.once("disconnect", (reason) => resolve(`disconnect: ${reason}`));
    });
    // Either the handshake's follow-up requests were refused, or (if the CONNECT slipped through
    // on the right node) the next poll was: the session cannot hold.
    if (failure === "connected") {
      const reason = await new Promise<string>((resolve) => socket.once("disconnect", resolve));
      expect(reason).toBe("transport error");
    } else {
      expect(failure).toMatch(/^(connect_error|disconnect): /);
    }
  });

  it("delivers to a WebSocket-only client through the balancer, which needs no cookie", async () => {
    const socket = await connectThroughLb(await userToken({ sub: "lb-user-d", org_id: "74" }), ["websocket"], { withCredentials: false });
    expect(engineOf(socket).transport.name).toBe("websocket");
    expect(engineOf(socket)._cookieJar).toBeUndefined();
    await expect(request(socket, "subscribe", { topic: "org:74" })).resolves.toMatchObject({ ok: true });
    const envelope = await publishAndReceive(socket, "74");
    expect(envelope.topic).toBe("org:74");
  });

  it("does not expose the gateways' /metrics on the public listener", async () => {
    for (const path of ["/metrics", "/METRICS", "/metrics/", "/Metrics?x=1"]) {
      expect((await fetch(`${haproxyOrThrow().url}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${gateways[0]?.url}/metrics`)).status).toBe(200);
  });

  it("upgrades a default client from polling to WebSocket on its sticky node", async () => {
    const socket = await connectThroughLb(await userToken({ sub: "lb-user-e", org_id: "75" }), ["polling", "websocket"]);
    const watch = watchSession(socket);
    if (engineOf(socket).transport.name !== "websocket") {
      await new Promise<void>((resolve) => engineOf(socket).once("upgrade", () => resolve()));
    }
    expect(engineOf(socket).transport.name).toBe("websocket");
    await expect(request(socket, "subscribe", { topic: "org:75" })).resolves.toMatchObject({ ok: true });
    await publishAndReceive(socket, "75");
    expect(watch.problems).toEqual([]);
  });

  // Last: it takes a node down.
  it("a rolling restart loses nothing: SIGTERM on a node under traffic, its SDK clients move to the others and miss no event", async () => {
    const org = `roll-${randomUUID().slice(0, 8)}`;
    const topic = `org:${org}`;
    const token = await userToken({ sub: "roller", org_id: org });
    const hubs: Hub[] = [];
    const received: Envelope[][] = [];
    let disconnects = 0;
    // Round robin: six WebSocket clients, two per node.
    for (let i = 0; i < 6; i++) {
      const client = connectHub({ url: haproxyOrThrow().url, token, socketOptions: { transports: ["websocket"], reconnectionDelay: 100 } });
      hubs.push(client);
      const seen: Envelope[] = [];
      received.push(seen);
      client.on("disconnect", () => disconnects++);
      await new Promise<void>((resolve, reject) => {
        client.subscribe(topic, {
          // Presence announcements of the other clients come on the topic too.
          onEvent: (event, envelope) => event === "roster.player_hired" && seen.push(envelope),
          onSubscribed: () => resolve(),
          onError: reject,
        });
      });
    }
    try {
      let published = 0;
      const publishSome = async (count: number) => {
        for (let i = 0; i < count; i++)
          await hub.publish({ id: `${org}-${++published}`, type: "roster.player_hired", org_id: org, payload: {} });
      };
      await publishSome(20);
      const victim = gateways[1] as GatewayProcess;
      const stopping = victim.stop();
      // Traffic goes on while the node drains and after it is gone.
      await publishSome(60);
      expect(await stopping).toBe(0);
      await publishSome(20);
      await until("every client to have every event", () => received.every((seen) => seen.length >= published));
      const all = Array.from({ length: published }, (_, i) => `${org}-${i + 1}`);
      for (const seen of received) expect(seen.map((e) => e.id)).toEqual(all);
      // The drained node's clients really moved.
      expect(disconnects).toBeGreaterThanOrEqual(1);
      expect(victim.logs.some((l) => l.msg === "draining: asking clients to reconnect to another node")).toBe(true);
    } finally {
      for (const client of hubs) client.close();
    }
  });
});

/** Publishes one event to `org:<orgId>` through the emitter SDK and waits for the socket to get it. */
async function publishAndReceive(socket: HubClient, orgId: string): Promise<Envelope> {
  const id = randomUUID();
  // Listen before publishing so a fast delivery is not missed.
  const arriving = nextEvent(socket, "roster.player_hired", id);
  await hub.publish({ id, type: "roster.player_hired", org_id: orgId, payload: { player_id: `p-${orgId}` } });
  return arriving;
}

/** A client connected through HAProxy that keeps and sends back cookies (the sticky SERVERID). */
function connectThroughLb(
  token: string,
  transports: Array<"polling" | "websocket">,
  { withCredentials = true }: { withCredentials?: boolean } = {},
): Promise<HubClient> {
  const socket = io(haproxyOrThrow().url, {
    auth: { token },
    transports,
    // In Node, engine.io-client only keeps a cookie jar (and so honours Set-Cookie) with this flag.
    withCredentials,
    reconnection: false,
    forceNew: true,
  }) as HubClient;
  clients.add(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

interface EngineView {
  id: string;
  transport: { name: string; on(event: "pollComplete", fn: () => void): void };
  once(event: "upgrade", fn: () => void): void;
  /** engine.io-client internal: present only with `withCredentials: true` in Node. */
  _cookieJar?: { cookies: IterableIterator<[string, { value: string }]> };
}

function engineOf(socket: HubClient): EngineView {
  return socket.io.engine as unknown as EngineView;
}

/** The SERVERID cookie HAProxy inserted for this client. */
function serverCookie(socket: HubClient): string {
  const jar = engineOf(socket)._cookieJar;
  if (!jar) throw new Error("engine.io-client has no cookie jar: was withCredentials set?");
  for (const [name, cookie] of jar.cookies) if (name === "SERVERID") return cookie.value;
  throw new Error("HAProxy set no SERVERID cookie");
}

/** The node id (`/health`'s `node`) of the gateway a SERVERID cookie pins requests to. */
async function nodeOfCookie(cookie: string): Promise<string> {
  const response = await fetch(`${haproxyOrThrow().url}/health`, { headers: { cookie: `SERVERID=${cookie}` } });
  const body = (await response.json()) as { node?: string };
  if (typeof body.node !== "string") throw new Error(`/health has no node: ${JSON.stringify(body)}`);
  return body.node;
}

/** Records anything that would mean the session was lost, and counts completed long-polls. */
function watchSession(socket: HubClient): { problems: string[]; pollsCompleted(): number } {
  const problems: string[] = [];
  let polls = 0;
  socket.on("connect_error", (error) => problems.push(`connect_error: ${error.message}`));
  socket.on("disconnect", (reason) => problems.push(`disconnect: ${reason}`));
  socket.io.on("reconnect_attempt", () => problems.push("reconnect_attempt"));
  socket.on("connect", () => problems.push("connected again"));
  const engine = engineOf(socket);
  if (engine.transport.name === "polling") engine.transport.on("pollComplete", () => polls++);
  return { problems, pollsCompleted: () => polls };
}

function haproxyOrThrow(): HaproxyProcess {
  if (!haproxy) throw new Error("haproxy did not start");
  return haproxy;
}
