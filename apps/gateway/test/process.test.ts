import { once } from "node:events";
import { connect } from "node:net";
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  gatewayEnv,
  nextEvent,
  refusal,
  request,
  serviceToken,
  spawnHubProcess,
  startGateway,
  TEST_INTERNAL_SECRET,
  TEST_JWT_SECRET,
  userToken,
} from "@hub/devkit";
import { afterEach, describe, expect, it } from "vitest";

/** Runs the gateway with a broken setting and returns its exit code and stderr. */
async function refusedStart(overrides: Record<string, string | undefined>) {
  const hub = spawnHubProcess("apps/gateway/src/main.ts", gatewayEnv(overrides));
  const code = await new Promise<number | null>((resolve) => hub.child.once("exit", resolve));
  return { code, stderr: hub.stderr().trim(), stdout: hub.logs };
}

/**
 * Sends `GET /health/ready` to `port`, the request line before SIGTERM and its end after the gateway
 * logged `draining`, and resolves with the answer and the exit code. A request begun before SIGTERM
 * is in flight, not idle: the drain stops listening and closes idle connections, but lets this one
 * finish, which is how a balancer's check sees the node drain.
 */
async function readyWhileDraining(gateway: GatewayProcess, port: number): Promise<{ head: string; body: string; code: number | null }> {
  const exited = new Promise<number | null>((resolve) => gateway.child.once("exit", resolve));
  const conn = connect(port, "127.0.0.1");
  await once(conn, "connect");
  let response = "";
  conn.on("data", (chunk: Buffer) => {
    response += chunk.toString();
  });
  const closed = once(conn, "close");
  conn.write("GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  // Barrier: once a request on a newer connection is answered, the gateway has read the older bytes.
  expect((await fetch(`http://127.0.0.1:${port}/health/live`, { headers: { connection: "close" } })).status).toBe(200);
  gateway.child.kill("SIGTERM");
  await gateway.waitForLog((l) => l.msg === "draining");
  conn.write("\r\n");
  await closed;
  const [head = "", body = ""] = response.split("\r\n\r\n");
  return { head, body, code: await exited };
}

describe("gateway process", () => {
  afterEach(() => closeAllClients());

  it.each([
    [{ PORT: "http" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ REDIS_URL: "http://localhost:6379" }, "REDIS_URL"],
    [{ JWT_SECRET: undefined }, "JWT_SECRET"],
    [{ INTERNAL_JWT_SECRET: "" }, "INTERNAL_JWT_SECRET"],
    [{ HUB_ENGINE: "postgres" }, "HUB_ENGINE"],
    [{ NODE_ENV: "production", CORS_ORIGINS: "https://app.example.com" }, "REDIS_URL"],
    [{ HUB_NAMESPACES: "[{" }, "HUB_NAMESPACES"],
  ])("refuses to start on bad config %j with one line naming %s", async (overrides, variable) => {
    const { code, stderr, stdout } = await refusedStart(overrides);
    expect(code).toBe(1);
    expect(stderr.split("\n")).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^gateway: invalid configuration: ${variable} `));
    expect(stdout).toEqual([]);
  });

  it("exits 0 on SIGTERM, closing its connections", async () => {
    const gateway = await startGateway();
    const client = await connectClient(gateway.url, await userToken({ sub: "u1", org_id: "o1" }));
    const disconnected = new Promise((resolve) => client.once("disconnect", resolve));
    expect(await gateway.stop()).toBe(0);
    expect(await disconnected).toBe("transport close");
    expect(gateway.logs.map((l) => l.msg)).toContain("stopped");
  });

  it("answers /health/ready 503 draining once SIGTERM arrives, finishes that request, then exits 0", async () => {
    const gateway = await startGateway();
    const { head, body, code } = await readyWhileDraining(gateway, gateway.port);
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(JSON.parse(body)).toMatchObject({ status: "draining" });
    expect(code).toBe(0);
    expect(gateway.logs.map((l) => l.msg)).toContain("stopped");
  });

  it("serves /health* and /metrics alone on HEALTH_PORT, answers 503 draining there while it drains, then exits 0", async () => {
    const gateway = await startGateway({ HEALTH_PORT: "0" });
    const health = `http://127.0.0.1:${gateway.healthPort}`;
    expect(gateway.healthPort).toBeGreaterThan(0);
    expect(gateway.healthPort).not.toBe(gateway.port);
    expect((await fetch(`${health}/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${health}/health`)).json()).toMatchObject({ status: "ok", engine: "memory" });
    expect(await (await fetch(`${health}/metrics`)).text()).toMatch(/^hub_connections /m);
    // Nothing but health and metrics: the APIs stay on PORT.
    const api = await fetch(`${health}/api/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(api.status).toBe(404);
    expect((await fetch(`${health}/socket.io/?EIO=4&transport=polling`)).status).toBe(404);

    const { head, body, code } = await readyWhileDraining(gateway, gateway.healthPort as number);
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(JSON.parse(body)).toMatchObject({ status: "draining" });
    expect(code).toBe(0);
  });

  it("closes only the socket that sends a message over MAX_MESSAGE_BYTES and keeps serving the others", async () => {
    const gateway = await startGateway({ MAX_MESSAGE_BYTES: "2048" });
    try {
      const token = await userToken({ sub: "u1", org_id: "o1" });
      const [big, bystander] = await Promise.all([connectClient(gateway.url, token), connectClient(gateway.url, token)]);
      const dropped = new Promise<string>((resolve) => big.once("disconnect", resolve));
      big.emit("subscribe", { topic: `org:${"x".repeat(4096)}` });
      expect(await dropped).toMatch(/transport (close|error)/);

      expect(bystander.connected).toBe(true);
      expect(await request(bystander, "subscribe", { topic: "org:o1" })).toMatchObject({ ok: true, topic: "org:o1" });
      const arrived = nextEvent(bystander, "player.transferred", "after-big");
      const published = await fetch(`${gateway.url}/api/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await serviceToken()}` },
        body: JSON.stringify({ id: "after-big", type: "player.transferred", org_id: "o1", payload: {} }),
      });
      expect(published.status).toBe(202);
      expect((await arrived).id).toBe("after-big");
      // New connections are welcome too, and a message under the limit is fine.
      const fresh = await connectClient(gateway.url, token);
      expect(await request(fresh, "subscribe", { topic: `tournament:${"t".repeat(100)}` })).toMatchObject({ ok: true });
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });

  it("logs one JSON object per line, without secrets; refusals name their org, event type and topic", async () => {
    const apiKey = "test-scraper-key-0123456789abcdef";
    const gateway = await startGateway({ LOG_LEVEL: "debug", SCRAPER_API_KEY: apiKey });
    const user = await userToken({ sub: "u1", org_id: "o1" });
    const refreshed = await userToken({ sub: "u1", org_id: "o1" }, { expiresIn: 7200 });
    const service = await serviceToken();
    // The value of a field staff.person.* marks x-sensitive (packages/events/src/schemas/catalog.ts).
    const email = "jane.sensitive@example.com";
    const post = (path: string, headers: Record<string, string>, body: unknown) =>
      fetch(`${gateway.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });

    // Tokens in handshakes (one refused), in a refresh, in service calls; an API key, right and wrong.
    const client = await connectClient(gateway.url, user);
    expect(await request(client, "auth.refresh", { token: refreshed })).toMatchObject({ ok: true });
    expect(await request(client, "subscribe", { topic: "org:o2" })).toMatchObject({ ok: false, error: { code: "forbidden" } });
    expect((await refusal(gateway.url, { token: `${user}x` })).message).toBe("unauthorized");
    const person = { type: "staff.person.updated", org_id: "o1", payload: { uuid: "p1", email } };
    expect((await post("/api/v1/events", { authorization: `Bearer ${service}` }, person)).status).toBe(202);
    const invalid = { ...person, payload: { email } }; // no uuid
    expect((await post("/api/v1/events", { authorization: `Bearer ${service}` }, invalid)).status).toBe(400);
    const unroutable = { type: "notification.created", org_id: "o3", payload: { recipient_email: email } }; // no user_id
    expect((await post("/events/notify", { "x-api-key": apiKey }, unroutable)).status).toBe(400);
    expect((await post("/events/notify", { "x-api-key": `${apiKey}x` }, unroutable)).status).toBe(401);

    const byMsg = (msg: string, source?: string) =>
      gateway.waitForLog((l) => l.msg === msg && (source === undefined || l.source === source));
    expect(await byMsg("event rejected", "http")).toMatchObject({
      level: "warn",
      code: "invalid_event",
      org_id: "o1",
      event_type: "staff.person.updated",
    });
    expect(await byMsg("event rejected", "webhook")).toMatchObject({ code: "no_route", org_id: "o3", event_type: "notification.created" });
    expect(await byMsg("request refused")).toMatchObject({
      level: "debug",
      event: "subscribe",
      code: "forbidden",
      org_id: "o1",
      topic: "org:o2",
    });
    expect(await byMsg("handshake refused")).toMatchObject({ level: "debug", code: "token_invalid" });
    await gateway.stop();

    const secrets = [TEST_JWT_SECRET, TEST_INTERNAL_SECRET, apiKey, user, refreshed, service, email];
    expect(gateway.logs.length).toBeGreaterThan(0);
    for (const line of gateway.logs) {
      expect(line.unparsed).toBeUndefined();
      const text = JSON.stringify(line);
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
