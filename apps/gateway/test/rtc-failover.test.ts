import { closeAllClients, collect, connectClient, nextEvent, request, userToken } from "@hub/devkit";
import type { CallInitiateOk, Envelope } from "@hub/events";
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
