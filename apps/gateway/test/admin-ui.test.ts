import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  gatewayEnv,
  refusal,
  serviceToken,
  spawnHubProcess,
  startGateway,
  until,
  userToken,
} from "@hub/devkit";
import { io, type Socket } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashAdminPassword } from "../src/admin/admin-ui.js";
import { type HubFixture, redisHub } from "./hub-fixture.js";

/**
 * `@socket.io/admin-ui` on real gateway processes (docs/operations.md "Admin UI"): off by default;
 * with `ADMIN_UI=basic` the `/admin` namespace takes the admin credentials and nothing else, and
 * the credentials open nothing but `/admin`.
 */

const USERNAME = "ops";
const PASSWORD = "test-admin-password-0123";

interface ServerStats {
  serverId: string;
  clientsCount: number;
  namespaces: Array<{ name: string; socketsCount: number }>;
}

const admins = new Set<Socket>();

/** An admin UI client on `/admin`, with every event it received kept from the start (admin-ui emits `session` before `connect`). */
function adminClient(url: string, auth: Record<string, unknown>) {
  const socket = io(`${url}/admin`, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
  admins.add(socket);
  const received: Array<[string, unknown[]]> = [];
  const waiters: Array<{ event: string; match: (args: unknown[]) => boolean; resolve: (args: unknown[]) => void }> = [];
  socket.onAny((event: string, ...args: unknown[]) => {
    received.push([event, args]);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter?.event === event && waiter.match(args)) {
        waiters.splice(i, 1);
        waiter.resolve(args);
      }
    }
  });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
  return {
    socket,
    connected,
    /** Resolves with the arguments of the first `event` (received already or to come) that matches. */
    next(event: string, match: (args: unknown[]) => boolean = () => true): Promise<unknown[]> {
      const seen = received.find(([name, args]) => name === event && match(args));
      if (seen) return Promise.resolve(seen[1]);
      return new Promise((resolve) => waiters.push({ event, match, resolve }));
    },
  };
}

/** The `connect_error` message of an admin handshake that must fail. */
async function adminRefusal(url: string, auth: Record<string, unknown>): Promise<string> {
  try {
    await adminClient(url, auth).connected;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("the /admin handshake was accepted");
}

/**
 * An admin client signed in with the right credentials. Every credential attempt is charged to the
 * node's budget (2 per second), which the tests before may have spent: a "too many attempts" is
 * tried again once the budget refilled.
 */
async function signedIn(url: string) {
  return until("an admin login within the node's budget", async () => {
    const admin = adminClient(url, { username: USERNAME, password: PASSWORD });
    try {
      await admin.connected;
      return admin;
    } catch (error) {
      if ((error as Error).message === "too many attempts") return undefined;
      throw error;
    }
  });
}

/** A refusal of a credential attempt: wrong credentials, or the node's budget of attempts spent. */
const REFUSED = /^(invalid credentials|too many attempts)$/;

const statsOf =
  (serverId: string, match: (stats: ServerStats) => boolean = () => true) =>
  (args: unknown[]) => {
    const stats = args[0] as ServerStats;
    return stats.serverId === serverId && match(stats);
  };

const mainSockets = (stats: ServerStats) => stats.namespaces.find((n) => n.name === "/")?.socketsCount;

afterEach(() => {
  closeAllClients();
  for (const socket of admins) socket.close();
  admins.clear();
});

describe("admin UI off (the default)", () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it("has no /admin namespace, even for the right credentials, and serves no front end", async () => {
    expect(await adminRefusal(gateway.url, { username: USERNAME, password: PASSWORD })).toBe("Invalid namespace");
    expect(await adminRefusal(gateway.url, { token: await serviceToken() })).toBe("Invalid namespace");
    expect((await fetch(`${gateway.url}/admin-ui/`)).status).toBe(404);
    expect(gateway.logs.map((l) => l.msg)).not.toContain("admin UI enabled");
  });
});

describe("ADMIN_UI=basic configuration", () => {
  it.each([
    [{ ADMIN_UI: "basic", ADMIN_UI_PASSWORD_HASH: "$2b$04$abcdefghijklmnopqrstuv0123456789ABCDEFGHIJKLMNOPQRS" }, "ADMIN_UI_USERNAME"],
    [{ ADMIN_UI: "basic", ADMIN_UI_USERNAME: USERNAME }, "ADMIN_UI_PASSWORD_HASH"],
    [{ ADMIN_UI: "basic", ADMIN_UI_USERNAME: USERNAME, ADMIN_UI_PASSWORD_HASH: PASSWORD }, "ADMIN_UI_PASSWORD_HASH"],
    [{ ADMIN_UI: "false" }, "ADMIN_UI"],
  ])("refuses to start with %j, naming %s", async (overrides, variable) => {
    const hub = spawnHubProcess("apps/gateway/src/main.ts", gatewayEnv(overrides));
    const code = await new Promise<number | null>((resolve) => hub.child.once("exit", resolve));
    expect(code).toBe(1);
    expect(hub.stderr().trim()).toMatch(new RegExp(`^gateway: invalid configuration: ${variable} `));
    expect(hub.stderr()).not.toContain(PASSWORD);
    expect(hub.logs).toEqual([]);
  });
});

describe("ADMIN_UI=basic on two Redis-backed gateways", () => {
  let hub: HubFixture;
  let first: string;
  let second: string;

  beforeAll(async () => {
    // Cost 4 keeps the test fast; production requires 10 or more.
    const hash = await hashAdminPassword(PASSWORD, 4);
    hub = await redisHub(2, { ADMIN_UI: "basic", ADMIN_UI_USERNAME: USERNAME, ADMIN_UI_PASSWORD_HASH: hash });
    [first, second] = hub.gateways.map((g) => g.url) as [string, string];
  });
  afterAll(async () => {
    await hub?.close();
  });

  it("lets the right credentials in: read-only features, a session, and every node's server_stats", async () => {
    const user = await connectClient(second, await userToken({ sub: "u1", org_id: "o1" }));
    const admin = await signedIn(first);
    const [config] = await admin.next("config");
    // Read-only (no emit / join / leave / disconnect) and aggregated stats only (no socket details).
    expect(config).toEqual({ supportedFeatures: ["AGGREGATED_EVENTS"] });
    const [session] = await admin.next("session");
    expect(session).toMatch(/^[0-9a-f]{32}$/);
    // Each node's stats reach the UI through the adapter, whichever node it is connected to.
    const [own] = (await admin.next("server_stats", statsOf("gw-1"))) as [ServerStats];
    const [other] = (await admin.next(
      "server_stats",
      statsOf("gw-2", (s) => mainSockets(s) === 1),
    )) as [ServerStats];
    expect(own.namespaces.map((n) => n.name).sort()).toEqual(["/", "/admin"]);
    expect(other.clientsCount).toBeGreaterThanOrEqual(1);
    expect(user.connected).toBe(true);
    expect(hub.gateways[0]?.logs.some((l) => l.msg === "admin UI connected")).toBe(true);
  });

  it("takes the session id back on the node that issued it, and no made-up one", async () => {
    const admin = await signedIn(first);
    const [session] = await admin.next("session");
    await adminClient(first, { sessionId: session }).connected;
    expect(await adminRefusal(first, { sessionId: "0123456789abcdef" })).toBe("invalid credentials");
  });

  it("refuses wrong credentials, user and service tokens", async () => {
    const userJwt = await userToken({ sub: "u1", org_id: "o1", roles: ["admin"] });
    const serviceJwt = await serviceToken();
    expect(await adminRefusal(second, { username: USERNAME, password: `${PASSWORD}x` })).toMatch(REFUSED);
    expect(await adminRefusal(second, { username: "admin", password: PASSWORD })).toMatch(REFUSED);
    expect(await adminRefusal(second, { username: USERNAME, password: userJwt })).toMatch(REFUSED);
    // Refused before any comparison (and so before the budget): no password string, no valid session.
    expect(await adminRefusal(second, {})).toBe("invalid credentials");
    expect(await adminRefusal(second, { token: userJwt })).toBe("invalid credentials");
    expect(await adminRefusal(second, { token: serviceJwt })).toBe("invalid credentials");
    // No password at all used to crash the node (bcrypt rejects undefined, unhandled): still up.
    expect(await adminRefusal(second, { username: USERNAME })).toBe("invalid credentials");
    expect(await adminRefusal(second, { username: USERNAME, password: 42 })).toBe("invalid credentials");
    // ... and so did the right username with a made-up session id and no password (admin-ui's own
    // check went from the unknown session straight to bcrypt.compare(undefined)).
    expect(await adminRefusal(second, { username: USERNAME, sessionId: "x" })).toBe("invalid credentials");
    expect(await adminRefusal(second, { username: USERNAME, sessionId: "x", password: null })).toBe("invalid credentials");
    expect((await fetch(`${second}/health/live`)).status).toBe(200);
  });

  it("does not let the admin credentials into the main namespace", async () => {
    const refused = await refusal(first, { username: USERNAME, password: PASSWORD });
    expect(refused).toEqual({ message: "unauthorized", data: expect.objectContaining({ code: "token_missing" }) });
  });

  it("ignores the UI's operations: a socket stays connected after an admin _disconnect of every socket", async () => {
    const user = await connectClient(first, await userToken({ sub: "u2", org_id: "o1" }));
    const admin = await signedIn(first);
    admin.socket.emit("_disconnect", "/", true);
    admin.socket.emit("emit", "/", undefined, "auth.expired", {});
    // Stats are taken every 2 s; two of them after the request leave it time to have been applied.
    let seen = 0;
    const [stats] = (await admin.next(
      "server_stats",
      statsOf("gw-1", () => ++seen === 2),
    )) as [ServerStats];
    expect(mainSockets(stats)).toBe(1);
    expect(user.connected).toBe(true);
  });

  it.each([
    ["the admin username", USERNAME],
    ["a wrong username", "not-the-admin"],
  ])("bounds the password checks a node makes per second, with %s alike (the limiter tells no username apart)", async (_, username) => {
    const attempts = await Promise.all(Array.from({ length: 6 }, () => adminRefusal(second, { username, password: "wrong-password" })));
    expect(attempts.filter((m) => m === "too many attempts").length).toBeGreaterThanOrEqual(4);
    expect(attempts.every((m) => REFUSED.test(m))).toBe(true);
  });

  it("serves the UI's front end at /admin-ui/", async () => {
    const redirect = await fetch(`${first}/admin-ui`, { redirect: "manual" });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe("/admin-ui/");
    const page = await fetch(`${first}/admin-ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain("<title>Socket.IO Admin UI</title>");
    const script = /src="(js\/app\.[0-9a-f]+\.js)"/.exec(html)?.[1];
    expect((await fetch(`${first}/admin-ui/${script}`)).status).toBe(200);
  });
});
