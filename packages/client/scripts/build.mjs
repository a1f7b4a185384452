// Builds dist/: ESM and CommonJS for bundlers and Node (socket.io-client stays a dependency; what the
// SDK uses of @hub/events at run time, the error-code table, is bundled in, so dist/ runs on its own),
// and a browser bundle with socket.io-client included. Type declarations come from `tsc -p tsconfig.build.json`.
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const entry = `${root}src/index.ts`;
const common = { entryPoints: [entry], bundle: true, sourcemap: true, target: "es2022", logLevel: "warning" };

await Promise.all([
  // "neutral" reads no package's main field: @hub/events' dependencies (ajv) must still resolve, though
  // nothing of them is bundled (@hub/events is side-effect free, and the SDK uses none of its schema code).
  build({
    ...common,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["socket.io-client"],
    outfile: `${root}dist/esm/index.js`,
  }),
  build({ ...common, format: "cjs", platform: "node", external: ["socket.io-client"], outfile: `${root}dist/cjs/index.js` }),
  build({
    ...common,
    format: "iife",
    globalName: "HubClient",
    platform: "browser",
    minify: true,
    outfile: `${root}dist/hub-client.browser.js`,
  }),
  build({ ...common, format: "esm", platform: "browser", minify: true, outfile: `${root}dist/hub-client.browser.mjs` }),
]);
// The package is "type": "module": mark the CommonJS folder as such so Node reads its .js files as CommonJS.
await mkdir(`${root}dist/cjs`, { recursive: true });
await writeFile(`${root}dist/cjs/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);
