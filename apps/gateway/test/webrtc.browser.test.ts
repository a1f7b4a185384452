import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  CHROMIUM_ARGS,
  CHROMIUM_MEDIA_ARGS,
  CHROMIUM_PATH,
  type GatewayProcess,
  REPO_ROOT,
  type RedisServer,
  requireChromium,
  startGateway,
  startRedis,
  userToken,
} from "@hub/devkit";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_BUNDLE } from "../src/http/console-routes.js";

// A real WebRTC call between two headless Chromium pages, each on its own gateway process over one
// redis-server: the offer, the answer and every ICE candidate go through the hub (hub.calls), media
// from Chromium's fake camera and microphone flows peer to peer over loopback.

/** Bound of each wait on the pages; the machine may be busy with other suites. */
const WAIT_MS = 30_000;
const PAGE_SCRIPT = readFileSync(new URL("./webrtc-page.js", import.meta.url), "utf8");

let redis: RedisServer;
let gateways: GatewayProcess[] = [];
let browser: Browser;

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
  const env = { REDIS_URL: redis.url };
  [gateways, browser] = await Promise.all([
    Promise.all([startGateway({ ...env, HUB_NODE_ID: "webrtc-gw-1" }), startGateway({ ...env, HUB_NODE_ID: "webrtc-gw-2" })]),
    chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...CHROMIUM_MEDIA_ARGS], headless: true, timeout: 30_000 }),
    bundle,
  ]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(gateways.map((g) => g.stop()));
  await redis?.stop();
});

interface Party {
  page: Page;
  context: BrowserContext;
  problems: string[];
}

type Snapshot = {
  ready: boolean;
  call: string;
  callId: string | null;
  connectionState: string;
  sent: { offer: number; answer: number; ice: number };
  received: { offer: number; answer: number; ice: number };
  errors: string[];
  audioBytes: number;
  videoBytes: number;
  framesDecoded: number;
};

/** A page of its own (its own browser context) on a gateway, signed in as `user`. */
async function party(gateway: GatewayProcess, user: string): Promise<Party> {
  // The console's page is a real page of the gateway's origin that loads the SDK bundle (a page made up
  // by the test would be refused local network access to 127.0.0.1); bypassCSP lets the page script in.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${gateway.url}/console/`);
  await page.waitForFunction(() => typeof (globalThis as unknown as { HubClient?: unknown }).HubClient === "object");
  await page.addScriptTag({ content: PAGE_SCRIPT });
  const token = await userToken({ sub: user, org_id: "o1" });
  await page.evaluate((args) => (globalThis as unknown as { peer: { start(a: unknown): Promise<void> } }).peer.start(args), {
    token,
    user,
  });
  return { page, context, problems };
}

const snapshot = (p: Party) =>
  p.page.evaluate(() => (globalThis as unknown as { peer: { snapshot(): Promise<Snapshot> } }).peer.snapshot());

describe("a WebRTC call between two browsers, signalled through the hub", () => {
  it("connects the peers over two gateways with only the hub's signalling, and media flows both ways", { timeout: 90_000 }, async () => {
    const suffix = Date.now().toString(36);
    const [a, b] = [`ann-${suffix}`, `bob-${suffix}`];
    const [ann, bob] = await Promise.all([party(gateways[0] as GatewayProcess, a), party(gateways[1] as GatewayProcess, b)]);
    try {
      for (const p of [ann, bob]) await expect.poll(async () => (await snapshot(p)).ready, { timeout: WAIT_MS }).toBe(true);
      await ann.page.evaluate((to) => (globalThis as unknown as { peer: { call(to: string): Promise<void> } }).peer.call(to), b);

      for (const p of [ann, bob]) {
        await expect.poll(async () => (await snapshot(p)).connectionState, { timeout: WAIT_MS }).toBe("connected");
      }
      // Media flows: bytes keep arriving on each side, and the fake camera's frames are decoded.
      for (const p of [ann, bob]) {
        const first = await snapshot(p);
        await expect
          .poll(
            async () => {
              const now = await snapshot(p);
              return now.videoBytes > first.videoBytes && now.audioBytes > first.audioBytes && now.framesDecoded > 0;
            },
            { timeout: WAIT_MS },
          )
          .toBe(true);
      }

      const [annState, bobState] = await Promise.all([snapshot(ann), snapshot(bob)]);
      expect(annState.callId).toBe(bobState.callId);
      expect([annState.call, bobState.call]).toEqual(["active", "active"]);
      // Every offer, answer and candidate went through the hub and arrived on the other side.
      expect(annState.sent.offer).toBe(1);
      expect(bobState.sent.answer).toBe(1);
      expect(annState.sent.ice).toBeGreaterThan(0);
      expect(bobState.sent.ice).toBeGreaterThan(0);
      expect(bobState.received).toEqual({ offer: 1, answer: 0, ice: annState.sent.ice });
      expect(annState.received).toEqual({ offer: 0, answer: 1, ice: bobState.sent.ice });
      expect([...annState.errors, ...bobState.errors, ...ann.problems, ...bob.problems]).toEqual([]);
    } finally {
      for (const p of [ann, bob])
        await p.page.evaluate(() => (globalThis as unknown as { peer: { close(): void } }).peer.close()).catch(() => {});
      await Promise.all([ann.context.close(), bob.context.close()]);
    }
  });
});
