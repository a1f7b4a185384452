import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);
const source = readFileSync(new URL("packages/runtime/src/hub-config.ts", root), "utf8");
const example = readFileSync(new URL(".env.example", root), "utf8");
const contract = [
  "PORT",
  "HOST",
  "REDIS_URL",
  "REDIS_PASSWORD",
  "HUB_ENGINE",
  "JWT_SECRET",
  "JWT_JWKS_URL",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
].concat([
  "INTERNAL_JWT_SECRET",
  "SCRAPER_API_KEY",
  "LEGACY_CHANNEL_PATTERN",
  "BACKEND_API_URL",
  "RAILS_API_URL",
  "CHECK_IN_TIMEOUT_MS",
  "CORS_ORIGINS",
]);

describe(".env.example", () => {
  const read = [...source.matchAll(/\b(?:str|int|oneOf|url|secret)\(env, "([A-Z_]+)"/g)].map((m) => m[1] as string);
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] as string));
  const mentioned = (name: string) => listed.has(name) || example.includes(name);

  it("finds the variables the config reads", () => {
    expect(read.length).toBeGreaterThan(15);
  });

  it("lists every variable the config reads", () => {
    expect(read.filter((name) => !mentioned(name))).toEqual([]);
  });

  it("covers every variable of CONTRACT.md, and the config reads them all", () => {
    expect(contract.filter((name) => !mentioned(name))).toEqual([]);
    expect(contract.filter((name) => !read.includes(name))).toEqual([]);
  });
});
