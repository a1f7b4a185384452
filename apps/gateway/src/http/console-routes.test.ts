import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleRoutes } from "./console-routes.js";
import { createHttpApp } from "./http-app.js";

const logger = pino({ level: "silent" });
let dir: string;
let bundle: string;
let server: Server;
let base: string;

const get = (path: string) => fetch(`${base}${path}`, { redirect: "manual" });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "console-routes-"));
  bundle = join(dir, "hub-client.browser.js");
  const app = createHttpApp({ logger, draining: () => false, routers: [consoleRoutes({ logger, bundlePath: bundle })] });
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("consoleRoutes", () => {
  it("redirects /console to /console/, so the page's relative URLs resolve under it", async () => {
    const res = await get("/console");
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/console/");
  });

  it("serves the page, its script and its stylesheet with a strict content security policy", async () => {
    for (const [path, type] of [
      ["/console/", "text/html"],
      ["/console/console.js", "text/javascript"],
      ["/console/console.css", "text/css"],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toContain(type);
      expect(res.headers.get("content-security-policy"), path).toContain("script-src 'self'");
      expect(res.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
    expect(await (await get("/console/")).text()).toContain('<script src="hub-client.js" defer></script>');
  });

  it("answers 503 naming the build command while the client bundle is missing, and serves it once built", async () => {
    const missing = await get("/console/hub-client.js");
    expect(missing.status).toBe(503);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain("pnpm --filter @hub/client build");

    await writeFile(bundle, "var HubClient = {};\n");
    const built = await get("/console/hub-client.js");
    expect(built.status).toBe(200);
    expect(built.headers.get("content-type")).toContain("text/javascript");
    expect(await built.text()).toBe("var HubClient = {};\n");
  });

  it("serves nothing else", async () => {
    expect((await get("/console/missing.js")).status).toBe(404);
    expect((await get("/console/%2e%2e/http/console-routes.ts")).status).not.toBe(200);
    expect((await get("/console/..%2fhttp%2fconsole-routes.ts")).status).not.toBe(200);
  });
});
