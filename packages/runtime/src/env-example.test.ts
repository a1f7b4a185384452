import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envReads, ROOT } from "../test/env-reads.js";

const example = readFileSync(join(ROOT, ".env.example"), "utf8");
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
  "HUB_NODES",
]);

describe(".env.example", () => {
  const reads = envReads();
  const names = new Set(reads.map((r) => r.name));
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] as string));
  const mentioned = (name: string) => listed.has(name) || new RegExp(`\\b${name}\\b`).test(example);

  it("finds the variables the processes read, wherever they read them", () => {
    expect(names.size).toBeGreaterThan(25);
    for (const name of ["PORT", "REDIS_URL", "NODE_ENV", "HUB_NODES", "METRICS_PORT", "JWT_SECRET", "INTERNAL_JWT_SECRET"]) {
      expect(names, name).toContain(name);
    }
  });

  it("lists every variable read anywhere in apps/*/src and packages/*/src", () => {
    const missing = reads.filter((r) => !mentioned(r.name)).map((r) => `${r.name} (${r.file})`);
    expect(missing).toEqual([]);
  });

  it("reads variables by name only in packages/runtime (config in one place)", () => {
    const elsewhere = reads.filter((r) => r.raw && !r.file.startsWith(join("packages", "runtime"))).map((r) => `${r.name} (${r.file})`);
    expect(elsewhere).toEqual([]);
  });

  it("covers every variable of the public configuration, and the processes read them all", () => {
    expect(contract.filter((name) => !mentioned(name))).toEqual([]);
    expect(contract.filter((name) => !names.has(name))).toEqual([]);
  });
});
