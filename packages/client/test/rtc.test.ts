import {
  closeAllClients,
  type GatewayProcess,
  type RedisServer,
  serviceToken,
  startGateway,
  startRedis,
  until,
  userToken,
} from "@hub/devkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectHub, type Hub, HubError } from "../src/index.js";
import { Watched } from "./recorder.js";

// Calls and huddles through the SDK: users on two gateways over one Redis, signalling through
// hub.calls only, a huddle kept across a connection the hub closes (the SDK rejoins within the
// grace period), the screen-share lock and the hub's refusals as HubError codes.
const GRACE_MS = 4_000;
let redis: RedisServer;
let gateways: GatewayProcess[];
const hubs: Hub[] = [];
const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  redis = await startRedis();
  const env = { REDIS_URL: redis.url, HUDDLE_GRACE_MS: String(GRACE_MS), HUDDLE_MAX_PARTICIPANTS: "2" };
  gateways = await Promise.all([startGateway({ ...env, HUB_NODE_ID: "sdk-rtc-1" }), startGateway({ ...env, HUB_NODE_ID: "sdk-rtc-2" })]);
});

afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
  closeAllClients();
});

afterAll(async () => {
  await Promise.all(gateways?.map((g) => g.stop()) ?? []);
  await redis?.stop();
});

async function connect(user: string, gateway: number): Promise<Hub> {
  const hub = connectHub({
    url: (gateways[gateway] as GatewayProcess).url,
    token: await userToken({ sub: user, org_id: "o1" }),
    socketOptions: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 500 },
  });
  hubs.push(hub);
  await hub.ready();
  return hub;
}

/** Resolves once the user's own `webrtc:` topic, which `hub.calls.on` subscribed, is confirmed. */
function callsReady(hub: Hub, user: string): Promise<void> {
  return new Promise((resolve) => {
    const off = hub.subscribe(`webrtc:${user}`, { onEvent: () => {}, onSubscribed: () => resolve(off()) });
  });
}

/** Records every event of a hub.calls listener as `name call_id`. */
function listen(hub: Hub): Watched<string> {
  const seen = new Watched<string>();
  for (const name of ["incoming", "answered", "ended", "busy", "offer", "answer", "ice-candidate", "toggle-audio"] as const) {
    hub.calls.on(name, (data) => seen.push(`${name} ${JSON.stringify(data)}`));
  }
  return seen;
}

async function huddleState(id: string): Promise<{ participants: Array<{ user_id: string; away: boolean }>; screen: string | null }> {
  const res = await fetch(`${gateways[0]?.url}/api/v1/huddles/${id}`, { headers: { authorization: `Bearer ${await serviceToken()}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as never;
}

describe("calls through @hub/client", () => {
  it("rings across gateways, answers, relays signalling only to the other party in order, toggles and hangs up", async () => {
    const [a, b] = [unique("alice"), unique("bob")];
    const [alice, bob] = await Promise.all([connect(a, 0), connect(b, 1)]);
    const aliceSees = listen(alice);
    const bobSees = listen(bob);
    bob.calls.on("incoming", ({ call_id }) => void bob.calls.answer(call_id));
    await Promise.all([callsReady(alice, a), callsReady(bob, b)]);

    const { callId, busy } = await alice.calls.initiate(b, { media: "video" });
    expect(busy).toBe(false);
    const incoming = `incoming ${JSON.stringify({ call_id: callId, from: a, media: "video" })}`;
    const answered = `answered ${JSON.stringify({ call_id: callId, by: b })}`;
    await bobSees.until("the ring and the answer", (items) => items.includes(incoming) && items.includes(answered));
    await aliceSees.until("answered", (items) => items.includes(answered));

    await alice.calls.signal.offer(callId, { type: "offer", sdp: "v=0 a" });
    await Promise.all([1, 2, 3].map((n) => alice.calls.signal.iceCandidate(callId, { candidate: `c${n}` })));
    await bob.calls.signal.answer(callId, { type: "answer", sdp: "v=0 b" });
    await alice.calls.toggleAudio(callId, false);
    const from = (name: string, user: string) => (items: readonly string[]) =>
      items.filter((i) => i.startsWith(`${name} `) && i.includes(`"from":"${user}"`));
    await bobSees.until(
      "the offer and 3 candidates",
      (items) => from("ice-candidate", a)(items).length === 3 && items.some((i) => i.startsWith("toggle-audio")),
    );
    expect(from("offer", a)(bobSees.items)).toEqual([
      `offer ${JSON.stringify({ call_id: callId, from: a, sdp: { type: "offer", sdp: "v=0 a" } })}`,
    ]);
    expect(from("ice-candidate", a)(bobSees.items).map((i) => JSON.parse(i.slice("ice-candidate ".length)).candidate.candidate)).toEqual([
      "c1",
      "c2",
      "c3",
    ]);
    await aliceSees.until("the answer", (items) => from("answer", b)(items).length === 1);
    // Signalling reaches the other party only: nobody hears their own.
    expect(aliceSees.items.filter((i) => i.startsWith("offer") || i.startsWith("ice-candidate"))).toEqual([]);
    expect(bobSees.items.filter((i) => i.startsWith("answer "))).toEqual([]);

    // Alice is on a call: calling Carol (connected, of her org) is refused with the hub's code.
    const c = unique("carol");
    await connect(c, 1);
    const error = await alice.calls.initiate(c, { media: "audio" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).code).toBe("call_in_progress");

    await bob.calls.end(callId);
    for (const seen of [aliceSees, bobSees])
      await seen.until("ended", (items) => items.some((i) => i.startsWith(`ended {"call_id":"${callId}","by":"${b}"`)));
  });

  it("resolves busy for a callee on another call, and a retried initiate with one call id rings once", async () => {
    const [a, b, c] = [unique("alice"), unique("bob"), unique("carol")];
    const [alice, bob, carol] = await Promise.all([connect(a, 0), connect(b, 1), connect(c, 0)]);
    const bobSees = listen(bob);
    const carolSees = listen(carol);
    await Promise.all([callsReady(bob, b), callsReady(carol, c)]);
    const callId = `call-${unique("x")}`;
    const first = await alice.calls.initiate(b, { media: "audio", callId });
    const again = await alice.calls.initiate(b, { media: "audio", callId });
    expect(again).toEqual(first);
    await bobSees.until("the ring", (items) => items.some((i) => i.startsWith("incoming")));

    const second = await carol.calls.initiate(b, { media: "audio" });
    expect(second.busy).toBe(true);
    await carolSees.until("busy", (items) => items.includes(`busy ${JSON.stringify({ call_id: second.callId, to: b })}`));
    expect(bobSees.items.filter((i) => i.startsWith("incoming"))).toHaveLength(1);
  });
});

describe("huddles through @hub/client", () => {
  it("joins across gateways, locks the screen share, refuses past max, and rejoins by itself after the hub closed the connection", async () => {
    const [a, b, c] = [unique("ann"), unique("ben"), unique("cat")];
    const [ann, ben, cat] = await Promise.all([connect(a, 0), connect(b, 1), connect(c, 0)]);
    const conversation = unique("conv");
    const { huddleId, created } = await ann.huddles.create(conversation);
    expect(created).toBe(true);
    expect(await ben.huddles.create(conversation)).toEqual({ huddleId, created: false });

    const annSees = new Watched<string>();
    ann.huddles.on("huddle:participant:joined", ({ participant }) => annSees.push(`joined ${participant.user_id}`));
    ann.huddles.on("huddle:message:new", ({ user_id, text }) => annSees.push(`message ${user_id} ${text}`));
    const benSees = new Watched<string>();
    ben.huddles.on("huddle:participant:updated", ({ participant }) =>
      benSees.push(`updated ${participant.user_id} screen=${participant.screen} away=${participant.away}`),
    );
    ben.huddles.on("huddle:participant:left", ({ user_id }) => benSees.push(`left ${user_id}`));

    expect((await ann.huddles.join(huddleId)).map((p) => p.user_id)).toEqual([a]);
    expect((await ben.huddles.join(huddleId)).map((p) => p.user_id)).toEqual([a, b]);
    await annSees.until("ben joined", (items) => items.includes(`joined ${b}`));
    await expect(cat.huddles.join(huddleId)).rejects.toMatchObject({ name: "HubError", code: "huddle_full" });

    await ann.huddles.toggleScreen(huddleId, true);
    await expect(ben.huddles.toggleScreen(huddleId, true)).rejects.toMatchObject({ code: "screen_share_taken" });

    // The hub closes Ann's connection: her share ends, she is away; the SDK reconnects and joins again.
    const disconnected = new Promise<void>((resolve) => ann.on("disconnect", () => resolve()));
    const reconnected = new Promise<void>((resolve) => ann.on("reconnect", () => resolve()));
    const res = await fetch(`${gateways[1]?.url}/api/v1/users/${a}/disconnect`, {
      method: "POST",
      headers: { authorization: `Bearer ${await serviceToken()}`, "content-type": "application/json" },
      body: JSON.stringify({ org_id: "o1" }),
    });
    expect(res.status).toBe(202);
    await disconnected;
    await benSees.until("ann away, share released", (items) => items.includes(`updated ${a} screen=false away=true`));
    await ben.huddles.message(huddleId, "while you were away");
    await reconnected;
    await until(
      "ann back in the huddle",
      async () => (await huddleState(huddleId)).participants.find((p) => p.user_id === a)?.away === false,
    );
    expect(ann.huddles.joined()).toEqual([huddleId]);
    // What was said while she was away reached her (replayed by the resubscribe, or live), once.
    await annSees.until("the message", (items) => items.includes(`message ${b} while you were away`));

    // The lock is free again; Ben takes it, Ann (back) is refused.
    await ben.huddles.toggleScreen(huddleId, true);
    await expect(ann.huddles.toggleScreen(huddleId, true)).rejects.toMatchObject({ code: "screen_share_taken" });
    await ann.huddles.message(huddleId, "back");
    await annSees.until("her own message, live", (items) => items.includes(`message ${a} back`));
    expect(annSees.items.filter((i) => i === `message ${b} while you were away`)).toHaveLength(1);
    expect(benSees.items).not.toContain(`left ${a}`);
    expect(await huddleState(huddleId)).toMatchObject({
      screen: b,
      participants: [
        { user_id: a, away: false },
        { user_id: b, away: false },
      ],
    });

    await ann.huddles.leave(huddleId);
    expect(ann.huddles.joined()).toEqual([]);
    await benSees.until("ann left", (items) => items.includes(`left ${a}`));
  });
});
