import { randomUUID } from "node:crypto";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import {
  closeAllClients,
  connectClient,
  type GatewayProcess,
  nextEvent,
  request,
  serviceToken,
  startGateway,
  userToken,
} from "@hub/devkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * Compressed request bodies on the routes that read one (docs/protocol.md "Internal publish API"):
 * a body that does not decompress is the caller's fault (400 bad_request), an encoding the gateway
 * does not know is 415, and neither disturbs the next request.
 */

const API_KEY = "test-scraper-key";

interface Route {
  name: string;
  path: string;
  headers: () => Promise<Record<string, string>>;
}

const ROUTES: Route[] = [
  { name: "POST /api/v1/events", path: "/api/v1/events", headers: async () => ({ authorization: `Bearer ${await serviceToken()}` }) },
  { name: "POST /events/notify", path: "/events/notify", headers: async () => ({ "x-api-key": API_KEY }) },
  {
    name: "POST /api/v1/inhouse/commands",
    path: "/api/v1/inhouse/commands",
    headers: async () => ({ authorization: `Bearer ${await serviceToken()}` }),
  },
];

const event = (org: string, id: string) => JSON.stringify({ id, type: "match.scraped", org_id: org, payload: { ok: true } });

/** Not what the header claims: the magic bytes of gzip and nothing sensible after them, and bytes brotli refuses. */
const CORRUPT: Array<{ encoding: string; body: () => Buffer }> = [
  { encoding: "gzip", body: () => Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from("definitely not deflate data")]) },
  { encoding: "gzip", body: () => gzipSync(event("1", "cut")).subarray(0, 12) },
  { encoding: "br", body: () => Buffer.from("this is not brotli at all, not even close") },
  { encoding: "deflate", body: () => Buffer.from("not zlib either") },
];

describe("compressed request bodies", () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await startGateway({ SCRAPER_API_KEY: API_KEY });
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    closeAllClients();
    await gateway?.stop();
  });

  async function post(route: Route, body: Buffer | string, encoding?: string): Promise<Response> {
    return fetch(`${gateway.url}${route.path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(await route.headers()), ...(encoding ? { "content-encoding": encoding } : {}) },
      body,
    });
  }

  describe.each(ROUTES)("$name", (route) => {
    it.each(CORRUPT)("answers a corrupt $encoding body 400 bad_request", async ({ encoding, body }) => {
      const res = await post(route, body(), encoding);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: { code: "bad_request", message: `request body is not valid ${encoding} data`, issues: [] },
      });
    });

    it("answers an unknown Content-Encoding 415 bad_request", async () => {
      const res = await post(route, Buffer.from("{}"), "x-unheard-of");
      expect(res.status).toBe(415);
      expect(await res.json()).toEqual({ error: { code: "bad_request", message: "unsupported body encoding", issues: [] } });
    });
  });

  it("still takes valid events, compressed or not, right after corrupt ones, and delivers them", async () => {
    const org = `enc-${randomUUID().slice(0, 8)}`;
    const client = await connectClient(gateway.url, await userToken({ sub: "7", org_id: org }));
    expect(await request(client, "subscribe", { topic: `org:${org}` })).toMatchObject({ ok: true });
    const [publish, webhook] = ROUTES as [Route, Route];

    const sends: Array<{ route: Route; encoding: string | undefined; encode: (text: string) => Buffer | string }> = [
      { route: publish, encoding: "gzip", encode: gzipSync },
      { route: webhook, encoding: "br", encode: brotliCompressSync },
      { route: publish, encoding: "deflate", encode: deflateSync },
      { route: webhook, encoding: undefined, encode: (text) => text },
    ];
    for (const [i, { route, encoding, encode }] of sends.entries()) {
      const corrupt = await post(route, Buffer.from("garbage"), encoding ?? "gzip");
      expect(corrupt.status).toBe(400);
      const id = `after-corrupt-${i}`;
      const arrived = nextEvent(client, "match.scraped", id);
      const res = await post(route, encode(event(org, id)), encoding);
      expect(res.status).toBe(202);
      expect(await arrived).toMatchObject({ id, topic: `org:${org}`, data: { ok: true } });
    }
    expect(gateway.child.exitCode).toBeNull();
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });
});
