import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type GatewayProcess, REPO_ROOT, type RedisServer, startGateway, startRedis, userToken } from "@hub/devkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The SDK as a user gets it: @hub/events, @hub/store, @hub/emitter and @hub/client packed with
 * `pnpm pack` (publishConfig applied, workspace: versions replaced), installed with npm into a plain
 * Node project outside the repository, and used from an ES module and from a CommonJS script
 * against a real gateway: the client subscribes, the emitter publishes, the event arrives.
 */

const run = promisify(execFile);
const PACKAGES = ["events", "store", "emitter", "client"];

let dir: string;
let redis: RedisServer;
let gateway: GatewayProcess;

beforeAll(async () => {
  // Builds the four packages' dist/ (turbo's cache makes a repeat quick).
  await run("pnpm", ["exec", "turbo", "run", "build", "--filter=@hub/emitter", "--filter=@hub/client"], {
    cwd: REPO_ROOT,
    timeout: 180_000,
  });
  dir = await mkdtemp(join(tmpdir(), "hub-packed-sdk-"));
  const dependencies: Record<string, string> = { ioredis: "^5.4.0" }; // the emitter's peer dependency
  for (const name of PACKAGES) {
    const { stdout } = await run("pnpm", ["pack", "--pack-destination", dir], { cwd: join(REPO_ROOT, "packages", name) });
    dependencies[`@hub/${name}`] = `file:${stdout.trim().split("\n").at(-1)}`;
  }
  await mkdir(join(dir, "app"));
  await writeFile(join(dir, "app", "package.json"), JSON.stringify({ name: "sdk-user", private: true, dependencies }, null, 2));
  await run("npm", ["install", "--no-audit", "--no-fund"], { cwd: join(dir, "app"), timeout: 120_000 });

  redis = await startRedis();
  gateway = await startGateway({ REDIS_URL: redis.url });
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * The same program for both module systems, after its imports: one copy of @hub/events behind the
 * emitter (its PublishError is events' own), then a round trip through the gateway.
 */
const program = `
  const resolved = { client: resolve("@hub/client"), emitter: resolve("@hub/emitter") };
  const redis = new Redis(process.env.REDIS_URL);
  const emitter = createHubEmitter({ redis });
  const refusal = await emitter.publish({ type: "no.such_type", org_id: "o1", payload: {} }).catch((error) => error);
  const hub = connectHub({ url: process.env.HUB_URL, token: process.env.HUB_TOKEN, socketOptions: { transports: ["websocket"] } });
  await hub.ready();
  let subscribed;
  const received = new Promise((resolve) => {
    // org: topics also carry presence events (this client's own join first).
    const onEvent = (event, envelope) => event === "roster.player_hired" && resolve({ event, data: envelope.data });
    subscribed = new Promise((onSubscribed) => hub.subscribe(process.env.TOPIC, { onEvent, onSubscribed }));
  });
  await subscribed;
  await emitter.publish({ type: "roster.player_hired", org_id: process.env.ORG, payload: { player_id: 7 } });
  const delivery = await received;
  hub.close();
  redis.disconnect();
  console.log(JSON.stringify({
    resolved,
    oneEventsCopy: refusal instanceof events.PublishError,
    code: refusal.code,
    owner: new events.TopicRegistry().parse(process.env.TOPIC).owner,
    delivery,
  }));
`;

const esm = `
  import * as events from "@hub/events";
  import { createHubEmitter } from "@hub/emitter";
  import { connectHub } from "@hub/client";
  import { Redis } from "ioredis";
  const resolve = (name) => import.meta.resolve(name);
  ${program}
`;

const commonjs = `
  const events = require("@hub/events");
  const { createHubEmitter } = require("@hub/emitter");
  const { connectHub } = require("@hub/client");
  const { Redis } = require("ioredis");
  const resolve = (name) => require.resolve(name);
  (async () => { ${program} })().catch((error) => { console.error(error); process.exit(1); });
`;

async function runScript(file: string, code: string, org: string): Promise<{ output: unknown; stderr: string }> {
  await writeFile(join(dir, "app", file), code);
  const { stdout, stderr } = await run(process.execPath, [file], {
    cwd: join(dir, "app"),
    timeout: 30_000,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      HUB_URL: gateway.url,
      HUB_TOKEN: await userToken({ sub: "u1", org_id: org }),
      ORG: org,
      TOPIC: `org:${org}`,
    },
  });
  return { output: JSON.parse(stdout), stderr };
}

describe("the SDK packed and installed into a plain Node project", () => {
  it("npm installed the four packages from the tarballs, with their dist/ as entry points", async () => {
    const lock = JSON.parse(await readFile(join(dir, "app", "package-lock.json"), "utf8")) as {
      packages: Record<string, { resolved?: string }>;
    };
    for (const name of PACKAGES) expect(lock.packages[`node_modules/@hub/${name}`]?.resolved).toMatch(new RegExp(`hub-${name}-.*\\.tgz$`));
    const store = JSON.parse(await readFile(join(dir, "app", "node_modules", "@hub", "store", "package.json"), "utf8"));
    expect(store.exports).toEqual({ ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } });
    expect(store.dependencies["@hub/events"]).toBe("0.1.0");
  });

  it("works from an ES module", async () => {
    const { output, stderr } = await runScript("user.mjs", esm, "packed-esm");
    expect(output).toEqual({
      resolved: {
        client: expect.stringMatching(/node_modules\/@hub\/client\/dist\/esm\/index\.js$/),
        emitter: expect.stringMatching(/node_modules\/@hub\/emitter\/dist\/index\.js$/),
      },
      oneEventsCopy: true,
      code: "unknown_type",
      owner: "packed-esm",
      delivery: { event: "roster.player_hired", data: { player_id: 7 } },
    });
    expect(stderr).toBe("");
  });

  it("works from CommonJS: @hub/client's CommonJS build, the ES modules through require()", async () => {
    const { output, stderr } = await runScript("user.cjs", commonjs, "packed-cjs");
    expect(output).toEqual({
      resolved: {
        client: expect.stringMatching(/node_modules\/@hub\/client\/dist\/cjs\/index\.js$/),
        emitter: expect.stringMatching(/node_modules\/@hub\/emitter\/dist\/index\.js$/),
      },
      oneEventsCopy: true,
      code: "unknown_type",
      owner: "packed-cjs",
      delivery: { event: "roster.player_hired", data: { player_id: 7 } },
    });
    // Node 20.19+ and 22.12+ load ES modules with require() without a warning.
    expect(stderr).toBe("");
  });
});
