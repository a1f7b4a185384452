import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  freePort,
  type GatewayProcess,
  type HubProcess,
  REPO_ROOT,
  type RedisServer,
  requireChromium,
  startGateway,
  startRedis,
  startWorker,
  subscriptionToken,
  userToken,
} from "@hub/devkit";
import { createHubEmitter, type HubEmitter } from "@hub/emitter";
import { Redis } from "ioredis";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_BUNDLE } from "../src/http/console-routes.js";

// The web console in a real, headless browser: Debian's chromium (installed by
// packages/devkit/bin/ensure-test-deps.mjs) driven by playwright-core, against a gateway on Redis that
// the test stops and starts again on the same port.

const SCREENSHOT = join(REPO_ROOT, "test-results", "console.browser.png");
/** Bound of each wait on the page; the machine may be busy with other suites. */
const WAIT_MS = 20_000;

let redis: RedisServer;
let port: number;
let gateway: GatewayProcess | undefined;
let producer: Redis;
let emitter: HubEmitter;
let browser: Browser;

const startNode = () => startGateway({ REDIS_URL: redis.url, PORT: String(port), HUB_NODE_ID: "console-browser-gw" });

/** Makes packages/client/dist/hub-client.browser.js unless it is newer than every source it bundles. */
async function ensureClientBundle(): Promise<void> {
  const sources = ["client", "events"].flatMap((name) => {
    const dir = join(REPO_ROOT, "packages", name, "src");
    return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((file) => join(dir, file));
  });
  const newest = Math.max(...sources.map((file) => statSync(file).mtimeMs));
  if (existsSync(CLIENT_BUNDLE) && statSync(CLIENT_BUNDLE).mtimeMs >= newest) return;
  await promisify(execFile)(process.execPath, ["scripts/build.mjs"], { cwd: join(REPO_ROOT, "packages", "client"), timeout: 60_000 });
}

beforeAll(async () => {
  requireChromium();
  const bundle = ensureClientBundle();
  redis = await startRedis();
  port = await freePort();
  [gateway, browser] = await Promise.all([
    startNode(),
    chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true, timeout: 30_000 }),
    bundle,
  ]);
  producer = new Redis(redis.url);
  emitter = createHubEmitter({ redis: producer });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  producer?.disconnect();
  await gateway?.stop();
  await redis?.stop();
});

interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Uncaught exceptions and content-security-policy violations seen on the page. */
  problems: string[];
}

/** Opens the console in a fresh browser context and signs in with the token. */
async function openConsole(token: string): Promise<ConsolePage> {
  const opened = await signIn(token);
  await opened.page.locator('#connection[data-state="connected"]').waitFor();
  return opened;
}

async function signIn(token: string): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) problems.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${port}/console`);
  await page.locator("#token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  return { page, context, problems };
}

/** Subscribes through the page's form; resolves with the topic's card once the hub confirmed it. */
async function subscribe(page: Page, topic: string): Promise<Locator> {
  await page.locator("#topic").fill(topic);
  await page.getByRole("button", { name: "Subscribe" }).click();
  const card = page.locator(`article.topic[data-topic="${topic}"]`);
  await card.locator('.status[data-state="live"]').waitFor();
  return card;
}

/** The ids of the card's `roster.player_hired` events, oldest first (the page lists newest first). */
async function shownIds(card: Locator): Promise<string[]> {
  return (await card.locator('li.event[data-type="roster.player_hired"] .id').allTextContents()).reverse();
}

const hired = (org: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${org}-hire-${from + i}`);

/** Publishes in order (un-awaited publishes on one connection keep their order). */
async function publish(org: string, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => emitter.publish({ id, type: "roster.player_hired", org_id: org, payload: { player: id } })));
}

describe("web console in a browser", () => {
  it("shows events live, recovers every missed one exactly once and in order after a gateway restart, and shows presence", {
    timeout: 60_000,
  }, async () => {
    const org = `console-${Date.now().toString(36)}`;
    const { page, context, problems } = await openConsole(await userToken({ sub: "ada", org_id: org }));
    try {
      const card = await subscribe(page, `org:${org}`);
      await card.locator('.presence-list li[data-user="ada"]').waitFor();

      await publish(org, hired(org, 1, 5));
      await expect.poll(() => shownIds(card), { timeout: WAIT_MS }).toEqual(hired(org, 1, 5));
      // Event data is rendered as text.
      await expect.poll(() => card.locator("li.event pre").first().textContent()).toContain(`"player": "${org}-hire-5"`);

      await gateway?.stop();
      gateway = undefined;
      await page.locator('#connection[data-state="reconnecting"]').waitFor();
      await publish(org, hired(org, 6, 10)); // while no gateway runs: only history has them
      gateway = await startNode();
      await publish(org, hired(org, 11, 12)); // while the page reconnects and resubscribes
      await page.locator('#connection[data-state="connected"]').waitFor();
      await card.locator('.status[data-state="live"]').waitFor();
      await publish(org, hired(org, 13, 15)); // live again

      await card.locator(`li.event[data-id="${org}-hire-15"]`).waitFor();
      await expect.poll(() => shownIds(card), { timeout: WAIT_MS }).toEqual(hired(org, 1, 15));
      // The presence list is reloaded after the resubscribe: the user is still there.
      await card.locator('.presence-list li[data-user="ada"]').waitFor();
      expect(await card.locator(".presence-list li").count()).toBe(1);

      await mkdir(join(REPO_ROOT, "test-results"), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect((await stat(SCREENSHOT)).size).toBeGreaterThan(1_000);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("sends a refused token back to the sign-in form with the hub's code", async () => {
    const { page, context, problems } = await signIn(await userToken({ sub: "ada", org_id: "o1" }, { expiresIn: -60 }));
    try {
      await page.locator('#connection[data-state="refused"]').waitFor();
      await page.locator("#token").waitFor();
      expect(await page.locator("#notice").textContent()).toContain("token_expired");
      expect(await page.locator("#workspace").isHidden()).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("chat between two tabs as two users: each sees the other's message, and one sees the other typing", { timeout: 60_000 }, async () => {
    const org = `console-chat-${Date.now().toString(36)}`;
    const topic = `chat:${org}`;
    const tabs = await Promise.all(
      ["ada", "bob"].map(async (user) => {
        const opened = await openConsole(await userToken({ sub: user, org_id: org }));
        await opened.page.locator("#chat-topic").fill(topic);
        await opened.page.locator("#chat-token").fill(await subscriptionToken({ sub: user, topic, org_id: org, pub: true }));
        await opened.page.getByRole("button", { name: "Open conversation" }).click();
        await opened.page.locator('#chat-status[data-state="live"]').waitFor();
        return opened;
      }),
    );
    const [ada, bob] = tabs as [ConsolePage, ConsolePage];
    const shown = (page: Page) =>
      page
        .locator("#chat-messages li.message")
        .evaluateAll((items) =>
          items.map((item) => `${item.querySelector(".sender")?.textContent}: ${item.querySelector(".text")?.textContent}`),
        );
    try {
      // Ada types: Bob's page says so (typing:start), Ada's own does not.
      await ada.page.locator("#chat-text").pressSequentially("hello bob");
      await bob.page.locator('#chat-typing[data-users="ada"]').waitFor();
      expect(await bob.page.locator("#chat-typing").textContent()).toBe("ada is typing…");
      expect(await ada.page.locator("#chat-typing").textContent()).toBe("");

      await ada.page.getByRole("button", { name: "Send" }).click();
      await bob.page.locator('#chat-messages li.message[data-sender="ada"]').waitFor();
      // Sending stops the indicator (typing:stop, and the message itself).
      await bob.page.locator('#chat-typing[data-users=""]').waitFor();

      await bob.page.locator("#chat-text").fill("hi ada");
      await bob.page.locator("#chat-text").press("Enter");
      for (const { page } of tabs) {
        await page.locator('#chat-messages li.message[data-sender="bob"]').waitFor();
        expect(await shown(page)).toEqual(["ada: hello bob", "bob: hi ada"]);
      }
      // Both pages show the hub's ids and offsets: one message each, the same ones.
      const ids = (page: Page) =>
        page.locator("#chat-messages li.message").evaluateAll((items) => items.map((i) => i.getAttribute("data-offset")));
      expect(await ids(ada.page)).toEqual(["1", "2"]);
      expect(await ids(bob.page)).toEqual(["1", "2"]);
      await mkdir(join(REPO_ROOT, "test-results"), { recursive: true });
      await bob.page.screenshot({ path: join(REPO_ROOT, "test-results", "console.chat.browser.png"), fullPage: true });
      expect([...ada.problems, ...bob.problems]).toEqual([]);
    } finally {
      await Promise.all(tabs.map((tab) => tab.context.close()));
    }
  });

  it("a call between two tabs: one calls, the other answers, both show active; one hangs up, both show ended", {
    timeout: 60_000,
  }, async () => {
    const org = `console-call-${Date.now().toString(36)}`;
    const tabs = await Promise.all(["ada", "bob"].map(async (user) => openConsole(await userToken({ sub: user, org_id: org }))));
    const [ada, bob] = tabs as [ConsolePage, ConsolePage];
    const status = (page: Page, state: string) => page.locator(`#call-status[data-state="${state}"]`).waitFor();
    try {
      // "ready": the user's webrtc topic is subscribed, so a call can reach the tab.
      await Promise.all([status(ada.page, "ready"), status(bob.page, "ready")]);
      await ada.page.locator("#call-to").fill("bob");
      await ada.page.getByRole("button", { name: "Call", exact: true }).click();
      await status(ada.page, "ringing");
      await status(bob.page, "incoming");
      expect(await bob.page.locator("#call-status").textContent()).toBe("incoming · ada (audio)");
      await bob.page.getByRole("button", { name: "Answer" }).click();
      await Promise.all([status(ada.page, "active"), status(bob.page, "active")]);

      // Muting shows on the other side.
      await bob.page.getByRole("button", { name: "Mute" }).click();
      await ada.page.locator("#call-peer", { hasText: "bob muted" }).waitFor();

      await ada.page.getByRole("button", { name: "Hang up" }).click();
      await Promise.all([status(ada.page, "ended"), status(bob.page, "ended")]);
      expect(await bob.page.locator("#call-status").textContent()).toBe("ended · hangup by ada");
      expect(await bob.page.getByRole("button", { name: "Hang up" }).isHidden()).toBe(true);
      expect([...ada.problems, ...bob.problems]).toEqual([]);
    } finally {
      await Promise.all(tabs.map((tab) => tab.context.close()));
    }
  });

  it("drives an inhouse queue: join, the check-in countdown from the queue's deadline, check in", { timeout: 60_000 }, async () => {
    const org = `console-q-${Date.now().toString(36)}`;
    const worker: HubProcess = await startWorker({ REDIS_URL: redis.url, HUB_NODE_ID: "console-browser-worker" });
    const { page, context, problems } = await openConsole(await userToken({ sub: "ada", org_id: org }));
    try {
      await page.locator('#queue-topic[data-state="live"]').waitFor();
      await emitter.inhouse.open({ org_id: org, queue_id: "evening", capacity: 2 });
      await page.locator("#queue-id").fill("evening");
      // The worker applies the open asynchronously; a join before that is refused with not_found.
      await page.locator('#queue-view[data-status="open"]').waitFor();
      await page.getByRole("button", { name: "Join" }).click();
      const me = page.locator('#queue-players li[data-user="ada"]');
      await me.waitFor();
      expect(await page.locator("#queue-status").textContent()).toBe("open");
      expect(await page.locator("#queue-log li").first().textContent()).toMatch(/join evening: accepted/);

      // The second player fills the queue: check-in starts, with a deadline CHECK_IN_TIMEOUT_MS away.
      await emitter.inhouse.join({ org_id: org, queue_id: "evening", user_id: "bob" });
      const countdown = page.locator("#queue-countdown");
      await countdown.waitFor();
      expect(await page.locator("#queue-status").textContent()).toBe("check_in");
      expect(await countdown.textContent()).toMatch(/^check in within (\d+ s|1:00)$/);
      const deadline = Number(await countdown.getAttribute("data-deadline"));
      expect(deadline).toBeGreaterThan(Date.now());
      expect(deadline).toBeLessThanOrEqual(Date.now() + 60_000);

      await page.getByRole("button", { name: "Check in" }).click();
      await page.locator('#queue-players li[data-user="ada"][data-checked-in="true"]').waitFor();
      await emitter.inhouse.checkIn({ org_id: org, queue_id: "evening", user_id: "bob" });
      // Everyone checked in: the deadline is cleared and the countdown goes away.
      await countdown.waitFor({ state: "hidden" });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
      await worker.stop();
    }
  });
});
