import { closeAllClients, connectClient, gatewayEnv, spawnHubProcess, startGateway, userToken } from "@hub/devkit";
import { afterEach, describe, expect, it } from "vitest";

/** Runs the gateway with a broken setting and returns its exit code and stderr. */
async function refusedStart(overrides: Record<string, string | undefined>) {
  const hub = spawnHubProcess("apps/gateway/src/main.ts", gatewayEnv(overrides));
  const code = await new Promise<number | null>((resolve) => hub.child.once("exit", resolve));
  return { code, stderr: hub.stderr().trim(), stdout: hub.logs };
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

  it("logs one JSON object per line, without secrets", async () => {
    const gateway = await startGateway();
    await gateway.stop();
    expect(gateway.logs.length).toBeGreaterThan(0);
    for (const line of gateway.logs) {
      expect(line.unparsed).toBeUndefined();
      expect(JSON.stringify(line)).not.toContain("test-user-secret");
    }
  });
});
