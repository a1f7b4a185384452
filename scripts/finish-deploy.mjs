// The last step of scripts/deploy-app.sh, on the directory `pnpm deploy --prod` made:
//   node scripts/finish-deploy.mjs <deploy dir>
//
// 1. Applies publishConfig to every workspace package in it. pnpm deploy copies them with their
//    workspace manifests (https://github.com/pnpm/pnpm/issues/6693), whose exports point at src/*.ts
//    for tsx and vitest; production resolves them to dist/ as `pnpm pack` would.
// 2. Writes <deploy dir>/dependencies.txt: every installed package, `name@version`, one a line.
// 3. Fails if a dev tool is among them: the image runs compiled code and carries none.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Packages that only build, run or check sources: none belongs in a production deploy. Not @types/*:
 * socket.io, engine.io and @socket.io/admin-ui list some as dependencies (declarations, not tools).
 */
const DEV_TOOLS = [
  /^typescript$/,
  /^tsx$/,
  /^esbuild$/,
  /^@esbuild\//,
  /^vite$/,
  /^vitest$/,
  /^@vitest\//,
  /^playwright(-core)?$/,
  /^@playwright\//,
  /^@biomejs\//,
  /^turbo(-.*)?$/,
  /^dependency-cruiser$/,
  /^fast-check$/,
  /^@hub\/devkit$/,
];

const target = process.argv[2];
if (!target) {
  console.error("usage: node scripts/finish-deploy.mjs <deploy dir>");
  process.exit(2);
}

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));

/**
 * A manifest as `pnpm pack` would publish it: publishConfig's fields over the top-level ones. The
 * file is removed before it is written because pnpm hard-links the workspace's files into the
 * deploy: writing through the link would rewrite the workspace's own package.json.
 */
function applyPublishConfig(file) {
  const { publishConfig, ...manifest } = readJson(file);
  if (!publishConfig) return;
  rmSync(file);
  writeFileSync(file, `${JSON.stringify({ ...manifest, ...publishConfig }, null, 2)}\n`);
}

// node_modules/.pnpm/<name with / as +>@<version>[_<peers>]/node_modules/<name>: one entry a package.
const store = join(target, "node_modules", ".pnpm");
const installed = [];
for (const entry of readdirSync(store)) {
  const name = /^(@[^+@]+\+[^@]+|[^@]+)@/.exec(entry)?.[1]?.replace("+", "/");
  if (!name) continue; // lock.yaml, node_modules
  const dir = join(store, entry, "node_modules", name);
  const manifest = readJson(join(dir, "package.json"));
  if (manifest.name.startsWith("@hub/")) applyPublishConfig(join(dir, "package.json"));
  installed.push(`${manifest.name}@${manifest.version}`);
}
applyPublishConfig(join(target, "package.json"));

const list = [...new Set(installed)].sort();
writeFileSync(join(target, "dependencies.txt"), `${list.join("\n")}\n`);

const devTools = list.filter((dependency) => DEV_TOOLS.some((pattern) => pattern.test(dependency.slice(0, dependency.lastIndexOf("@")))));
if (devTools.length > 0) {
  console.error(`${target}: dev tools among the production dependencies (dependencies.txt): ${devTools.join(", ")}`);
  process.exit(1);
}
console.log(`${target}: ${list.length} production packages, no dev tool (dependencies.txt)`);
