/** Install size on disk and minified bundle size of each library as this benchmark uses it. */
import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

export function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, "node_modules", name, "package.json"), "utf8")) as { version: string };
  return manifest.version;
}

const duKiB = (dir: string): number => Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split("\t")[0]);

/**
 * `du` of the package's real directory (pnpm links `node_modules/<pkg>`, so plain `du -sh node_modules/<pkg>` measures a
 * symlink), plus its production dependencies, found next to it in pnpm's virtual store.
 */
export function installSize(name: string): { ownKiB: number; withDepsKiB: number; deps: string[] } {
  const seen = new Map<string, number>();
  const visit = (pkgName: string, from: string) => {
    const dir = realpathSync(join(from, pkgName));
    if (seen.has(dir)) return;
    seen.set(dir, duKiB(dir));
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    // pnpm: a package's dependencies are symlinked beside it, in the `node_modules` that contains it.
    const siblings = pkgName.startsWith("@") ? dirname(dirname(dir)) : dirname(dir);
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, siblings);
  };
  visit(name, join(PACKAGE_DIR, "node_modules"));
  const sizes = [...seen.entries()];
  return {
    ownKiB: sizes[0]?.[1] ?? 0,
    withDepsKiB: sizes.reduce((sum, [, kib]) => sum + kib, 0),
    deps: sizes.slice(1).map(([dir]) => dir.split("/node_modules/").at(-1) ?? dir),
  };
}

/** esbuild, minified ESM for the browser, of `src/entries/<id>.ts`: bytes of library + schemas + adapter, and gzip -9 of that. */
export async function bundleSizes(ids: readonly string[]): Promise<Record<string, { min: number; gzip: number }>> {
  const out: Record<string, { min: number; gzip: number }> = {};
  for (const id of ids) {
    const result = await build({
      // The factory is exported, so the bundle keeps the library code that building and running the schemas needs.
      stdin: { contents: `export { make } from "./entries/${id}.js";`, resolveDir: join(PACKAGE_DIR, "src"), loader: "ts" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    out[id] = { min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength };
  }
  return out;
}
