import { closeAllClients, collect, connectClient, nextEvent, request, serviceToken, until, userToken } from "@hub/devkit";
import type { CallInitiateOk, Envelope, HuddleCreateOk } from "@hub/events";
import { afterAll, describe, expect, it } from "vitest";
import { type HubFixture, redisHub } from "./hub-fixture.js";

const RING_MS = 1_500;

describe("a ring timeout when a gateway dies at the deadline", () => {
  let hub: HubFixture | undefined;
  afterAll(async () => {
    closeAllClients();
    await hub?.close();
  });

  it("is fired by another gateway: both parties' topics hold call:missed exactly once", async () => {
    hub = await redisHub(3, { CALL_RING_TIMEOUT_MS: String(RING_MS) });
    const [gw1, gw2, gw3] = hub.gateways as [HubFixture["gateways"][0], HubFixture["gateways"][0], HubFixture["gateways"][0]];
    const alice = await connectClient(gw1.url, await userToken({ sub: "alice", org_id: "o1" }));
    const bob = await connectClient(gw2.url, await userToken({ sub: "bob", org_id: "o1" }));
    await request(alice, "subscribe", { topic: "webrtc:alice" });
    await request(bob, "subscribe", { topic: "webrtc:bob" });
    const missed = collect(bob, "call:missed");
    const first = nextEvent(bob, "call:missed");
    const call = await request<CallInitiateOk>(alice, "call:initiate", { to: "bob", media: "audio" });
    // The caller's gateway and a bystander die just as the call stops ringing: every gateway sweeps,
    // so the survivor fires it; killed processes end nothing (a kill -9 runs no disconnect handler).
    await new Promise((resolve) => setTimeout(resolve, RING_MS - 30));
    await Promise.all([gw1.kill(), gw3.kill()]);
    expect((await first).data).toEqual({ call_id: call.call_id });

    const history = async (user: string): Promise<Envelope[]> => {
      const socket = await connectClient(gw2.url, await userToken({ sub: user, org_id: "o1" }));
      const seen = collect(socket, "call:missed");
      await request(socket, "subscribe", { topic: `webrtc:${user}`, since: { offset: 0, epoch: "" } });
      socket.close();
      return seen;
    };
    expect(await history("alice")).toHaveLength(1);
    expect(await history("bob")).toHaveLength(1);
    expect(missed).toHaveLength(1);
  });
});

describe("calls and huddles of users on a gateway that dies", () => {
  let hub: HubFixture | undefined;
  afterAll(async () => {
    closeAllClients();
    await hub?.close();
  });

  it("ends their calls and takes them out of huddles once the presence sweep removes them", async () => {
    hub = await redisHub(2, { PRESENCE_TTL_MS: "1000", HUDDLE_GRACE_MS: "300" });
    const [doomed, survivor] = hub.gateways as [HubFixture["gateways"][0], HubFixture["gateways"][0]];
    const on = async (url: string, sub: string) => connectClient(url, await userToken({ sub, org_id: "o1" }));
    // A call whose two parties are on the gateway that dies: nothing else would ever end it.
    const alice = await on(doomed.url, "alice");
    const bob = await on(doomed.url, "bob");
    await request(alice, "subscribe", { topic: "webrtc:alice" });
    await request(bob, "subscribe", { topic: "webrtc:bob" });
    const call = await request<CallInitiateOk>(alice, "call:initiate", { to: "bob", media: "audio" });
    await request(bob, "call:answer", { call_id: call.call_id });
    // A huddle with a participant sharing their screen on the gateway that dies, and one elsewhere.
    const carol = await on(doomed.url, "carol");
    const dave = await on(survivor.url, "dave");
    const { huddle_id } = await request<HuddleCreateOk>(carol, "huddle:create", { conversation_id: "c-doomed" });
    await request(carol, "huddle:join", { huddle_id });
    await request(dave, "huddle:join", { huddle_id });
    const sharing = nextEvent(dave, "huddle:participant:updated");
    await request(carol, "huddle:toggle-screen", { huddle_id, enabled: true });
    expect((await sharing).data).toMatchObject({ participant: { user_id: "carol", screen: true } });
    const away = nextEvent(dave, "huddle:participant:updated");
    const left = nextEvent(dave, "huddle:participant:left");

    await doomed.kill();
    expect((await away).data).toMatchObject({ participant: { user_id: "carol", screen: false, away: true } });
    expect((await left).data).toEqual({ huddle_id, user_id: "carol" });
    expect(await request(dave, "huddle:toggle-screen", { huddle_id, enabled: true })).toMatchObject({ ok: true });
    const token = await serviceToken();
    // Nobody is left to be told: the call's state says it ended.
    const ended = await until("the dead gateway's call to end", async () => {
      const res = await fetch(`${survivor.url}/api/v1/calls/${call.call_id}`, { headers: { authorization: `Bearer ${token}` } });
      const state = (await res.json()) as { status?: string; ended_by?: string };
      return state.status === "completed" ? state : undefined;
    });
    expect(["alice", "bob"]).toContain(ended.ended_by);
  });
});
