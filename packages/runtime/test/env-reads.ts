import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

// Where the hub's processes read environment variables, found in their sources: shared by the tests
// that keep .env.example (src/env-example.test.ts) and docs/operations.md (src/operations-doc.test.ts)
// in step with the code.

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Development tools that are not hub processes and take their own flags and variables (started by
 * hand, never by `pnpm start` / `gateway` / `worker`), like the devkit.
 */
const DEV_TOOLS = new Set([join("apps", "queue-worker", "src", "fake-backend.ts")]);

/**
 * Every source file of a process: apps/<app>/src and packages/<package>/src, without tests, built
 * output and the devkit (test tooling, which sets PATH and the like for the processes it spawns).
 */
export function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "dist") walk(path);
      } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !/\.test\.|\.d\.ts$/.test(entry.name)) {
        if (!DEV_TOOLS.has(relative(ROOT, path))) files.push(path);
      }
    }
  };
  for (const group of ["apps", "packages"]) {
    for (const unit of readdirSync(join(ROOT, group), { withFileTypes: true })) {
      if (!unit.isDirectory() || (group === "packages" && unit.name === "devkit")) continue;
      try {
        walk(join(ROOT, group, unit.name, "src"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
  }
  return files;
}

/** The code of a file without its comment lines (JSDoc examples mention `process.env.REDIS_URL`). */
export function code(path: string): string {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join("\n");
}

/** `process.env.X`, `process.env["X"]`, `env.X`, `env["X"]`: a variable read by name, bypassing the readers. */
const RAW_READ = /\b(?:process\.env|env)(?:\?\.|\.)([A-Z][A-Z0-9_]+)\b|\b(?:process\.env|env)\[\s*["'`]([A-Z][A-Z0-9_]+)["'`]\s*\]/g;
/** packages/runtime's readers: `str(env, "X")`, `int(env, "X", ...)`, ... */
const READER_CALL = /\b(?:str|int|oneOf|url|secret)\(\s*\w+\s*,\s*"([A-Z][A-Z0-9_]+)"/g;

/** One place a variable is read. */
export interface Read {
  name: string;
  /** Relative to the repository root. */
  file: string;
  /** Read by name from the environment rather than through a reader of packages/runtime. */
  raw: boolean;
}

/** Every read of a variable in the processes' sources. */
export function envReads(): Read[] {
  const reads: Read[] = [];
  for (const path of sourceFiles()) {
    const text = code(path);
    const file = relative(ROOT, path);
    for (const m of text.matchAll(RAW_READ)) reads.push({ name: (m[1] ?? m[2]) as string, file, raw: true });
    for (const m of text.matchAll(READER_CALL)) reads.push({ name: m[1] as string, file, raw: false });
  }
  return reads;
}

/** An integer variable's spec as written at an `int(env, "X", { default, min, max })` call. */
export interface IntSpec {
  name: string;
  default: number;
  min: number;
  max: number;
}

const INT_CALL = /\bint\(\s*\w+\s*,\s*"([A-Z][A-Z0-9_]+)"\s*,\s*\{\s*default:\s*([\d_]+),\s*min:\s*([\d_]+),\s*max:\s*([\d_]+)\s*\}/g;
const ONE_OF_CALL = /\boneOf\(\s*\w+\s*,\s*"([A-Z][A-Z0-9_]+)"\s*,\s*\[([^\]]*)\]/g;

/** Every `int(...)` call of the processes' sources with literal bounds (a variable may have several). */
export function intSpecs(): IntSpec[] {
  const num = (text: string | undefined) => Number((text ?? "").replaceAll("_", ""));
  return sourceFiles().flatMap((path) =>
    [...code(path).matchAll(INT_CALL)].map((m) => ({ name: m[1] as string, default: num(m[2]), min: num(m[3]), max: num(m[4]) })),
  );
}

/** The values each `oneOf(...)` variable accepts. */
export function oneOfValues(): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const path of sourceFiles()) {
    for (const m of code(path).matchAll(ONE_OF_CALL)) {
      values.set(
        m[1] as string,
        [...(m[2] as string).matchAll(/"([^"]+)"/g)].map((v) => v[1] as string),
      );
    }
  }
  return values;
}
