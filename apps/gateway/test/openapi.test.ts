import { type GatewayProcess, serviceToken, startGateway } from "@hub/devkit";
import type { ERROR_CODES } from "@hub/events";
import { loadConfig } from "@hub/runtime";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashAdminPassword } from "../src/admin/admin-ui.js";
import { createEngine } from "../src/engine/create-engine.js";
import { createGateway } from "../src/gateway.js";
import { gatewayOpenApi } from "../src/http/gateway-routes.js";
import { openApiPath } from "../src/http/openapi-document.js";
import { VERSION } from "../src/version.js";

/**
 * `/openapi.json` against the gateway itself: the routes a gateway with every optional route on
 * registers are exactly the documented ones, a real gateway process serves the document, and
 * requests the document calls invalid get the error it documents.
 */
const document = gatewayOpenApi(VERSION);
const documented = Object.entries(document.paths)
  .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
  .sort();

describe("documented routes", () => {
  it("are exactly the routes a gateway with the webhook, the console and the admin UI on registers", async () => {
    const config = loadConfig(
      {
        JWT_SECRET: "user-secret",
        INTERNAL_JWT_SECRET: "internal-secret",
        HUB_ENGINE: "memory",
        PORT: "0",
        HOST: "127.0.0.1",
        SCRAPER_API_KEY: "scraper-key",
        CONSOLE_ENABLED: "true",
        ADMIN_UI: "basic",
        ADMIN_UI_USERNAME: "admin",
        ADMIN_UI_PASSWORD_HASH: await hashAdminPassword("admin-password", 4),
      },
      "gateway",
    );
    const logger = pino({ level: "silent" });
    const gateway = createGateway({ config, engine: createEngine(config, logger), logger });
    try {
      const registered = gateway
        .routes()
        .map(({ method, path }) => `${method.toUpperCase()} ${openApiPath(path)}`)
        .sort();
      expect(new Set(registered).size).toBe(registered.length);
      // Both ways: no route undocumented, no documented route missing.
      expect(registered.filter((r) => !documented.includes(r))).toEqual([]);
      expect(documented.filter((r) => !registered.includes(r))).toEqual([]);
    } finally {
      await gateway.close();
    }
  });
});

describe("GET /openapi.json on a gateway process", () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it("answers the document without authentication, cacheable, and 304 to a matching If-None-Match", async () => {
    const res = await fetch(`${gateway.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    expect(await res.json()).toEqual(document);
    const etag = res.headers.get("etag");
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    // fetch adds `Cache-Control: no-cache` to a conditional request unless it has one.
    const again = await fetch(`${gateway.url}/openapi.json`, {
      headers: { "if-none-match": etag as string, "cache-control": "max-age=0" },
    });
    expect(again.status).toBe(304);
  });

  /** The error codes the document lists for `status` of `method path`. */
  function documentedCodes(method: string, path: string, status: number): string[] {
    const op = document.paths[path]?.[method] as {
      responses: Record<
        string,
        { content: { "application/json": { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } } } }
      >;
    };
    return op.responses[String(status)]?.content["application/json"].schema.properties.error.properties.code.enum ?? [];
  }

  it.each([
    ["get", "/api/v1/presence", "/api/v1/presence?org_id=o1&limit=ten", undefined, "limit must be an integer from 1 to 10000"],
    ["get", "/api/v1/presence/{user_id}", "/api/v1/presence/u1", undefined, "org_id (the user's org) is required: ?org_id="],
    [
      "post",
      "/api/v1/users/{user_id}/revoke",
      "/api/v1/users/u1/revoke",
      { org_id: "o1", before: "yesterday" },
      "before must be epoch milliseconds",
    ],
    ["post", "/api/v1/huddles", "/api/v1/huddles", { org_id: "o1", conversation_id: "c 1" }, "conversation_id must be an id"],
    ["delete", "/api/v1/dlq/{stream}/entries", "/api/v1/dlq/o1:x.y/entries", { ids: [] }, "ids must be a list of 1 to 500 entry ids"],
  ])("%s %s: a request its schema calls invalid gets 400 bad_request, as documented", async (method, path, url, body, message) => {
    const res = await fetch(`${gateway.url}${url}`, {
      method: method.toUpperCase(),
      headers: { authorization: `Bearer ${await serviceToken()}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: { code: keyof typeof ERROR_CODES; message: string; issues: string[] } };
    expect(answer.error).toMatchObject({ code: "bad_request", message });
    expect(answer.error.issues.length).toBeGreaterThan(0);
    expect(documentedCodes(method, path, 400)).toContain(answer.error.code);
  });
});
