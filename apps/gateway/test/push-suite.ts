import { randomUUID } from "node:crypto";
import { closeAllClients, connectClient, nextEvent, request, subscriptionToken, until, userToken } from "@hub/devkit";
import type { PresenceOk, PublishOk, SubscribeOk } from "@hub/events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metricSum } from "./gateway-metrics.js";
import { type HubFixture, httpPublish } from "./hub-fixture.js";
import { type PushEndpoint, startPushEndpoint } from "./push-endpoint.js";

/** Ids nobody else in the run uses. */
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * The push hook for offline users (docs/operations.md "Push hook"), against a local push endpoint:
 * who is pushed, retries, and that a failing endpoint holds up no delivery. Registered once per engine.
 */
export function pushSuite(name: string, start: (env: Record<string, string>) => Promise<HubFixture>): void {
  describe(`push hook (${name})`, () => {
    let hub: HubFixture;
    let endpoint: PushEndpoint;
    let first: string;
    let last: string;

    beforeAll(async () => {
      endpoint = await startPushEndpoint();
      hub = await start({ PUSH_WEBHOOK_URL: endpoint.url, PUSH_RETRY_BASE_MS: "50", PUSH_TIMEOUT_MS: "1000" });
      first = hub.gateways[0]?.url as string;
      last = hub.gateways.at(-1)?.url as string;
    });
    afterAll(async () => {
      await hub?.close();
      await endpoint?.close();
    });
    afterEach(() => {
      closeAllClients();
      endpoint.answer = () => 200;
    });

    /** Sum of `hub_push_total` over every gateway, of the series whose labels contain `labels`. */
    const pushes = async (labels: string) => {
      const counts = await Promise.all(hub.gateways.map((g) => metricSum(g, "hub_push_total", labels)));
      return counts.reduce((a, b) => a + b, 0);
    };

    const notify = async (userId: string, extra: Record<string, unknown> = {}) => {
      const id = randomUUID();
      const res = await httpPublish(first, {
        id,
        type: "notification.created",
        org_id: "o1",
        user_id: userId,
        payload: { title: "hi" },
        ...extra,
      });
      expect(res.status).toBe(202);
      return id;
    };

    it("pushes a notification once to its offline recipient, with a service token, and not to a connected one", async () => {
      const online = unique("on");
      const offline = unique("off");
      // Connected, not even subscribed to its notifications: it has a socket, so no push.
      await connectClient(last, await userToken({ sub: online, org_id: "o1" }));
      const skippedBefore = await pushes('kind="notification",outcome="skipped_online"');
      await notify(online);
      const id = await notify(offline);
      await until("the offline user's push arrives", () => endpoint.to(offline).length >= 1);
      await until(
        "the connected user's push is skipped",
        async () => (await pushes('kind="notification",outcome="skipped_online"')) > skippedBefore,
      );
      expect(endpoint.to(offline)).toEqual([
        {
          kind: "notification",
          id,
          user_id: offline,
          org_id: "o1",
          topic: `notifications:${offline}`,
          event: "notification.created",
          data: { notification: { title: "hi" } },
          ts: expect.any(Number),
        },
      ]);
      expect(endpoint.received.filter((p) => p.body.id === id).every((p) => p.authorized)).toBe(true);
      expect(endpoint.to(online)).toEqual([]);
    });

    it("pushes a chat message to the conversation's member who is on it on no device, not to the sender or those present", async () => {
      const topic = `chat:${unique("c")}`;
      const [alice, bob, carol] = [unique("alice"), unique("bob"), unique("carol")];
      const join = async (sub: string) => {
        const socket = await connectClient(first, await userToken({ sub, org_id: "o1" }));
        const token = await subscriptionToken({ sub, topic, org_id: "o1", pub: true });
        expect(await request<SubscribeOk>(socket, "subscribe", { topic, token })).toMatchObject({ ok: true });
        return { socket, token };
      };
      const sender = await join(alice);
      const gone = await join(bob);
      await join(carol);
      gone.socket.disconnect();
      // Presence is what the hook reads: wait until it shows carol and alice on the conversation, bob gone.
      await until("presence shows bob gone", async () => {
        const answer = await request<PresenceOk>(sender.socket, "presence", { topic });
        const users = answer.users.map((u) => u.user_id).sort();
        return users.length === 2 && users.includes(alice) && users.includes(carol);
      });
      const queuedBefore = await pushes('kind="message",outcome="queued"');
      const send = (text: string) =>
        request<PublishOk>(sender.socket, "publish", { topic, event: "message:send", data: { text }, token: sender.token });
      const firstMessage = await send("one");
      await until("bob's push arrives", () => endpoint.to(bob).length >= 1);
      const secondMessage = await send("two");
      await until("bob's second push arrives", () => endpoint.to(bob).length >= 2);
      expect(endpoint.to(bob).map((p) => [p.id, p.data, p.sender_id, p.kind, p.event, p.topic])).toEqual([
        [firstMessage.id, { text: "one" }, alice, "message", "message:new", topic],
        [secondMessage.id, { text: "two" }, alice, "message", "message:new", topic],
      ]);
      // Both messages' offers were queued in order on one connection: nothing else was offered.
      expect((await pushes('kind="message",outcome="queued"')) - queuedBefore).toBe(2);
      expect(endpoint.to(alice)).toEqual([]);
      expect(endpoint.to(carol)).toEqual([]);
    });

    it("retries with backoff until the endpoint takes the push, then stops", async () => {
      const user = unique("retry");
      const sentBefore = await pushes('kind="notification",outcome="sent"');
      const retriedBefore = await pushes('kind="notification",outcome="retried"');
      endpoint.answer = (body, count) => (body.user_id === user && count < 2 ? 503 : 200);
      const id = await notify(user);
      await until("the push is sent", async () => (await pushes('kind="notification",outcome="sent"')) > sentBefore);
      // Removed once sent (before it is counted): no attempt can follow.
      expect(endpoint.to(user).map((p) => p.id)).toEqual([id, id, id]);
      expect((await pushes('kind="notification",outcome="retried"')) - retriedBefore).toBe(2);
    });

    it("delivers to a connected user while the push endpoint hangs or drops every connection", async () => {
      const connected = unique("reader");
      const socket = await connectClient(last, await userToken({ sub: connected, org_id: "o1" }));
      await request(socket, "subscribe", { topic: `notifications:${connected}` });
      for (const failure of ["hang", "reset"] as const) {
        const offline = Array.from({ length: 40 }, () => unique(`off-${failure}`));
        endpoint.answer = (body) => (body.kind === "notification" && String(body.user_id).startsWith("off-") ? failure : 200);
        for (const user of offline) await notify(user);
        await until(`the endpoint is failing (${failure})`, () =>
          endpoint.received.some((p) => String(p.body.user_id).startsWith(`off-${failure}`)),
        );
        const arrived = nextEvent(socket, "notification.created");
        const id = await notify(connected, { payload: { title: failure } });
        expect((await arrived).id).toBe(id);
      }
    });
  });
}
