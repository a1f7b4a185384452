import {
  freePort,
  type GatewayProcess,
  type RedisServer,
  serviceToken,
  startGateway,
  startRedis,
  TEST_INTERNAL_SECRET,
  userToken,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type BotProcess, spawnBot } from "./bot-process.js";

// The bot as a real process, against a real gateway on Redis, fed by the emitter SDK.
let redis: RedisServer;
let gateway: GatewayProcess;
let port: number;
let producer: Redis;
let emitter: HubEmitter;
const bots: BotProcess[] = [];

const startNode = () => startGateway({ REDIS_URL: redis.url, PORT: String(port), HUB_NODE_ID: "bot-example-gw" });
const hubUrl = () => `http://127.0.0.1:${port}`;
const bot = (env: Record<string, string>) => {
  const started = spawnBot({ HUB_URL: hubUrl(), ...env });
  bots.push(started);
  return started;
};
/** In order: one emitter's un-awaited publishes keep their order. */
const publishAll = (events: Parameters<HubEmitter["publish"]>[0][]) => Promise.all(events.map((event) => emitter.publish(event)));

beforeAll(async () => {
  redis = await startRedis();
  port = await freePort();
  gateway = await startNode();
  producer = new Redis(redis.url);
  emitter = createHubEmitter({ redis: producer });
});

afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.stop("SIGKILL")));
});

afterAll(async () => {
  producer?.disconnect();
  await gateway?.stop();
  await redis?.stop();
});

describe("examples/discord-bot-like", () => {
  it("prints one line per event of the orgs it follows, none of the others, and exits 0 on SIGTERM", async () => {
    const discord = bot({ HUB_SERVICE_TOKEN: await serviceToken("discord-bot"), BOT_ORGS: "1, 2" });
    await discord.waitForLine((l) => l === "following org:1, inhouse:1, org:2, inhouse:2");

    await publishAll([
      { id: "hire-1", type: "roster.player_hired", org_id: 1, payload: { player_id: 7 } },
      { id: "hire-3", type: "roster.player_hired", org_id: 3, payload: { player_id: 8 } }, // org 3 is not followed
      {
        id: "queue-2",
        type: "inhouse.queue_updated",
        org_id: 2,
        payload: { queue: { id: "evening", status: "open", capacity: 10, players: [{ user_id: "7", checked_in: false }] } },
      },
      { id: "goal-2", type: "team_goal.completed", org_id: 2, payload: { goal_id: 3, title: "win 5 scrims" } },
    ]);

    const expected = [
      "[org:1] roster.player_hired player 7",
      "[inhouse:2] queue_updated queue evening open 1/10",
      "[org:2] team_goal.completed goal 3 title win 5 scrims",
    ];
    for (const line of expected) await discord.waitForLine((l) => l === line);
    // Published before the last of them, on the same Redis connection: it would have arrived by now.
    expect(discord.lines.filter((l) => l.startsWith("["))).toEqual(expected);

    expect(await discord.stop("SIGTERM")).toBe(0);
    expect(discord.stderr()).toBe("");
  });

  it("mints its token from INTERNAL_JWT_SECRET, reports what it could not recover after a restart, and exits 0 on SIGINT", async () => {
    const discord = bot({ INTERNAL_JWT_SECRET: TEST_INTERNAL_SECRET, BOT_ORGS: "5" });
    await discord.waitForLine((l) => l === "following org:5, inhouse:5");
    await emitter.publish({ id: "before", type: "player.transferred", org_id: 5, payload: { player_id: 1 } });
    await discord.waitForLine((l) => l === "[org:5] player.transferred player 1");

    // Redis loses the topics' history while the gateway is down: on reconnect the bot cannot catch up
    // on org:5. inhouse:5 never had an event (its position is the empty epoch): nothing was missed there.
    await gateway.stop();
    await producer.flushall();
    gateway = await startNode();
    await discord.waitForLine((l) => l === "[org:5] some events were missed while offline: reload this org from the backend", 30_000);

    await emitter.publish({ id: "after", type: "player.transferred", org_id: 5, payload: { player_id: 2 } });
    await discord.waitForLine((l) => l === "[org:5] player.transferred player 2");
    expect(discord.lines.some((l) => l.startsWith("[inhouse:5] some events were missed"))).toBe(false);
    expect(await discord.stop("SIGINT")).toBe(0);
    expect(discord.stderr()).toContain("reconnected");
  });

  it("stops with exit code 1 when the hub refuses its token or BOT_ORGS is missing", async () => {
    const refused = bot({
      HUB_SERVICE_TOKEN: await userToken({ sub: "7", org_id: "1" }, { secret: "not-the-hub-secret-0123456789abcdef" }),
      BOT_ORGS: "1",
    });
    expect(await refused.exited()).toBe(1);
    expect(refused.stderr()).toContain("hub error: token_invalid");

    const unconfigured = bot({ HUB_SERVICE_TOKEN: "x" });
    expect(await unconfigured.exited()).toBe(1);
    expect(unconfigured.stderr()).toBe("discord-bot-like: BOT_ORGS is required: the org ids to follow, comma-separated (BOT_ORGS=1,2,3)\n");
  });
});
