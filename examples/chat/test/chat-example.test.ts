import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connectHub } from "@hub/client";
import { type GatewayProcess, type RedisServer, startGateway, startRedis, TEST_JWT_SECRET } from "@hub/devkit";
import { afterAll, describe, expect, it } from "vitest";

// The example of docs/getting-started.md ("Chat between two users"), run as the doc says, against a
// real gateway: on the memory engine as `pnpm start` runs it, and on Redis as `pnpm start --cluster 1`.
const EXAMPLE_DIR = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

let redis: RedisServer | undefined;
const gateways: GatewayProcess[] = [];

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await redis?.stop();
});

async function gateway(engine: "memory" | "redis"): Promise<GatewayProcess> {
  if (engine === "redis") redis ??= await startRedis();
  const started = await startGateway({ HUB_NODE_ID: `chat-example-${engine}`, ...(engine === "redis" ? { REDIS_URL: redis?.url } : {}) });
  gateways.push(started);
  return started;
}

/** Runs a script of the example as its package scripts do, with only these variables (plus PATH). */
const script = (file: string, env: Record<string, string>, args: string[] = []) =>
  run(process.execPath, ["--import", "tsx", file, ...args], { cwd: EXAMPLE_DIR, env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });
const example = (env: Record<string, string>) => script("src/main.ts", env);

describe("examples/chat", () => {
  it.each(["memory", "redis"] as const)(
    "two users chat with subscription tokens on the %s engine: each receives the other's message",
    async (engine) => {
      const hub = await gateway(engine);
      const { stdout, stderr } = await example({ HUB_URL: hub.url, JWT_SECRET: TEST_JWT_SECRET, CHAT_CONVERSATION: `example-${engine}` });
      expect(stdout.trim().split("\n")).toEqual([
        `alice and bob joined chat:example-${engine}`,
        "alice sees: bob is typing…",
        'alice sent "hello bob" (offset 1)',
        'bob received from alice: "hello bob"',
        'alice received from bob: "hi alice"',
      ]);
      expect(stderr).toBe("");
    },
  );

  it("`tokens` prints, per user, a user token and a subscription token the hub accepts for the conversation", async () => {
    const hub = await gateway("memory");
    const { stdout } = await script("src/print-tokens.ts", { JWT_SECRET: TEST_JWT_SECRET, CHAT_CONVERSATION: "by-hand" }, ["ada"]);
    const [heading, user, subscription] = stdout.trim().split("\n");
    expect(heading).toBe("ada (org dev-org) on chat:by-hand");
    const userToken = user?.match(/^ {2}user token: +(\S+)$/)?.[1] ?? "";
    const subscriptionToken = subscription?.match(/^ {2}subscription token: (\S+)$/)?.[1] ?? "";
    const client = connectHub({ url: hub.url, token: userToken, socketOptions: { transports: ["websocket"] } });
    try {
      await new Promise<void>((resolve, reject) =>
        client.subscribe("chat:by-hand", { token: subscriptionToken, onSubscribed: () => resolve(), onError: reject, onEvent: () => {} }),
      );
      await expect(client.publish("chat:by-hand", "message:send", { text: "by hand" })).resolves.toMatchObject({ ok: true, offset: 1 });
    } finally {
      client.close();
    }
  });

  it("exits 1 naming what is missing without JWT_SECRET, and when the hub refuses the tokens", async () => {
    await expect(example({ HUB_URL: "http://127.0.0.1:9" })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("JWT_SECRET is required"),
    });
    const hub = await gateway("memory");
    await expect(example({ HUB_URL: hub.url, JWT_SECRET: "not-the-hub-secret-0123456789abcdef" })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("token_invalid"),
    });
  });
});
