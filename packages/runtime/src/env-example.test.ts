import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const example = readFileSync(join(root, ".env.example"), "utf8");
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

/**
 * Every source file of a process: apps/<app>/src and packages/<package>/src, without tests, built
 * output and the devkit (test tooling, which sets PATH and the like for the processes it spawns).
 */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "dist") walk(path);
      } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !/\.test\.|\.d\.ts$/.test(entry.name)) {
        if (!DEV_TOOLS.has(relative(root, path))) files.push(path);
      }
    }
  };
  for (const group of ["apps", "packages"]) {
    for (const unit of readdirSync(join(root, group), { withFileTypes: true })) {
      if (!unit.isDirectory() || (group === "packages" && unit.name === "devkit")) continue;
      try {
        walk(join(root, group, unit.name, "src"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
  }
  return files;
}

/**
 * Development tools that are not hub processes and take their own flags and variables (started by
 * hand, never by `pnpm start` / `gateway` / `worker`), like the devkit.
 */
const DEV_TOOLS = new Set([join("apps", "queue-worker", "src", "fake-backend.ts")]);

/** The code of a file without its comment lines (JSDoc examples mention `process.env.REDIS_URL`). */
function code(path: string): string {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join("\n");
}

/** `process.env.X`, `process.env["X"]`, `env.X`, `env["X"]`: a variable read by name, bypassing the readers. */
const RAW_READ = /\b(?:process\.env|env)(?:\?\.|\.)([A-Z][A-Z0-9_]+)\b|\b(?:process\.env|env)\[\s*["'`]([A-Z][A-Z0-9_]+)["'`]\s*\]/g;
/** packages/runtime's readers: `str(env, "X")`, `int(env, "X", ...)`, ... */
const READER_CALL = /\b(?:str|int|oneOf|url|secret)\(\s*\w+\s*,\s*"([A-Z][A-Z0-9_]+)"/g;

interface Read {
  name: string;
  file: string;
  raw: boolean;
}

function envReads(): Read[] {
  const reads: Read[] = [];
  for (const path of sourceFiles()) {
    const text = code(path);
    const file = relative(root, path);
    for (const m of text.matchAll(RAW_READ)) reads.push({ name: (m[1] ?? m[2]) as string, file, raw: true });
    for (const m of text.matchAll(READER_CALL)) reads.push({ name: m[1] as string, file, raw: false });
  }
  return reads;
}

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
