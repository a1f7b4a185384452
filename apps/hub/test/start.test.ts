import { closeAllClients, connectClient, freePort, freePortRange, type HubProcess, nextEvent, request, spawnHubProcess } from "@hub/devkit";
import { afterEach, describe, expect, it } from "vitest";

interface Banner {
  gateways: string[];
  userToken: string;
  serviceToken: string;
}

/** Resolves with what `pnpm start` printed for the person at the terminal. */
function banner(hub: HubProcess): Promise<Banner> {
  return new Promise((resolve, reject) => {
    const read = () => {
      const text = hub.stderr();
      const user = /^ {2}user .*:\s+(\S+)$/m.exec(text);
      const service = /^ {2}service .*:\s+(\S+)$/m.exec(text);
      if (!text.includes("Ctrl-C") || !user?.[1] || !service?.[1]) return;
      hub.child.stderr?.off("data", read);
      const gateways = [...text.matchAll(/gateway \d+: (\S+)/g)].map((m) => m[1] as string);
      resolve({ gateways, userToken: user[1], serviceToken: service[1] });
    };
    hub.child.stderr?.on("data", read);
    hub.child.once("exit", (code) => reject(new Error(`pnpm start exited (${code}):\n${hub.stderr()}`)));
  });
}

async function roundTrip(info: Banner): Promise<void> {
  const client = await connectClient(info.gateways.at(-1) as string, info.userToken);
  expect(await request(client, "subscribe", { topic: "org:dev-org" })).toMatchObject({ ok: true, topic: "org:dev-org", offset: 0 });
  const arrived = nextEvent(client, "roster.player_hired", "start-1");
  const res = await fetch(`${info.gateways[0]}/api/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${info.serviceToken}` },
    body: JSON.stringify({ id: "start-1", type: "roster.player_hired", org_id: "dev-org", payload: {} }),
  });
  expect(res.status).toBe(202);
  expect((await arrived).data).toEqual({});
}

const baseEnv = (port: number) => ({ PATH: process.env.PATH, NODE_ENV: "development", PORT: String(port), HOST: "127.0.0.1" });

describe("pnpm start", () => {
  afterEach(() => closeAllClients());

  it.each([
    [["--cluster", "0"], {}, /^start: --cluster takes a number of gateways from 1 to 16, got "0"; usage: pnpm start/],
    [["--clusters", "2"], {}, /^start: unknown argument "--clusters"/],
    [[], { HUB_NODES: "many" }, /^start: invalid configuration: HUB_NODES must be an integer/],
  ])("refuses %j %j with one line and exit code 1", async (args, env, message) => {
    const hub = spawnHubProcess("apps/hub/src/main.ts", { ...baseEnv(await freePort()), ...env }, { args });
    const code = await new Promise<number | null>((resolve) => hub.child.once("exit", resolve));
    expect(code).toBe(1);
    expect(hub.stderr().trim()).toMatch(message);
    expect(hub.stderr().trim().split("\n")).toHaveLength(1);
  });

  it("runs a whole single-node hub on the memory engine with no configuration", async () => {
    const hub = spawnHubProcess("apps/hub/src/main.ts", baseEnv(await freePort()));
    try {
      const info = await banner(hub);
      expect(info.gateways).toHaveLength(1);
      expect(hub.logs.some((l) => l.engine === "memory" && /single-node/.test(String(l.msg)))).toBe(true);
      const health = (await (await fetch(`${info.gateways[0]}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: "ok", engine: "memory" });
      await roundTrip(info);
    } finally {
      expect(await hub.stop()).toBe(0);
    }
  });

  it("--cluster 2 (as pnpm start --cluster 2 passes it) runs a local redis-server, two gateways and a worker as one hub", async () => {
    // The cluster's gateways listen on PORT and PORT + 1. The flag wins over HUB_NODES.
    const hub = spawnHubProcess(
      "apps/hub/src/main.ts",
      { ...baseEnv(await freePortRange(2)), HUB_NODES: "5" },
      { args: ["--cluster", "2"] },
    );
    let info: Banner | undefined;
    try {
      info = await banner(hub);
      expect(info.gateways).toHaveLength(2);
      for (const url of info.gateways) {
        expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: "ok", redis: "connected", engine: "redis" });
      }
      expect(hub.logs.filter((l) => l.service === "queue-worker").length).toBeGreaterThan(0);
      await roundTrip(info);
    } finally {
      const code = await hub.stop();
      expect(code, `exit ${code}; logs:\n${hub.logs.map((l) => JSON.stringify(l)).join("\n")}\n${hub.stderr()}`).toBe(0);
    }
    // Everything it started is gone with it.
    for (const url of info.gateways) await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it("--cluster 2 --redis-cluster runs them on a local 6-process Redis Cluster with sharded pub/sub", async () => {
    const hub = spawnHubProcess("apps/hub/src/main.ts", baseEnv(await freePortRange(2)), { args: ["--cluster", "2", "--redis-cluster"] });
    let info: Banner | undefined;
    try {
      info = await banner(hub);
      expect(info.gateways).toHaveLength(2);
      expect(hub.logs.some((l) => String(l.redis).startsWith("cluster 127.0.0.1:"))).toBe(true);
      await roundTrip(info);
      // Sharded: each gateway holds a subscriber connection per master it has channels on.
      expect(hub.logs.some((l) => String(l.redis).startsWith("sub-127.0.0.1:"))).toBe(true);
    } finally {
      const code = await hub.stop();
      expect(code, `exit ${code}; logs:\n${hub.logs.map((l) => JSON.stringify(l)).join("\n")}\n${hub.stderr()}`).toBe(0);
    }
    for (const url of info.gateways) await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
