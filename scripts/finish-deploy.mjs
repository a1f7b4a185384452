// The last step of scripts/deploy-app.sh, on the directory `pnpm deploy --prod` made:
//   node scripts/finish-deploy.mjs <deploy dir>
//
// 1. Applies publishConfig to every workspace package in it. pnpm deploy copies them with their
//    workspace manifests (https://github.com/pnpm/pnpm/issues/6693), whose exports point at src/*.ts
//    for tsx and vitest; production resolves them to dist/ as `pnpm pack` would.
// 2. Drops pnpm's link from node_modules/.pnpm/node_modules to the app's own workspace directory
//    (nothing imports it, and it dangles anywhere else); any other link out of the deploy fails.
// 3. Writes <deploy dir>/dependencies.txt: every installed package, `name@version`, one a line.
// 4. Fails if a dev tool is among them (the image runs compiled code and carries none), or if a
//    version is not one pnpm-lock.yaml pins: a legacy deploy resolves again, preferring the
//    lockfile's versions, and the image must run what the tests ran.
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

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

/** `name@version` of every package pnpm-lock.yaml pins (its `packages:` keys). */
function lockedVersions() {
  const lockfile = readFileSync(new URL("../pnpm-lock.yaml", import.meta.url), "utf8");
  const packages = lockfile.slice(lockfile.indexOf("\npackages:\n"), lockfile.indexOf("\nsnapshots:\n"));
  return new Set(packages.match(/^ {2}'?[^\s'(]+?@[^\s'(:]+/gm)?.map((key) => key.trim().replace(/^'/, "")));
}

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

/** Every symbolic link under `dir`, not following any. */
function* linksUnder(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) yield path;
    else if (entry.isDirectory()) yield* linksUnder(path);
  }
}

const self = join(target, "node_modules", ".pnpm", "node_modules", readJson(join(target, "package.json")).name);
const escaping = [];
for (const link of linksUnder(join(target, "node_modules"))) {
  if (!relative(resolve(target), resolve(dirname(link), readlinkSync(link))).startsWith("..")) continue;
  if (link === self) rmSync(link);
  else escaping.push(link);
}

const list = [...new Set(installed)].sort();
writeFileSync(join(target, "dependencies.txt"), `${list.join("\n")}\n`);

const nameOf = (dependency) => dependency.slice(0, dependency.lastIndexOf("@"));
const devTools = list.filter((dependency) => DEV_TOOLS.some((pattern) => pattern.test(nameOf(dependency))));
const locked = lockedVersions();
const unlocked = list.filter((dependency) => !nameOf(dependency).startsWith("@hub/") && !locked.has(dependency));
if (escaping.length > 0) console.error(`${target}: links out of the deploy directory: ${escaping.join(", ")}`);
if (devTools.length > 0) console.error(`${target}: dev tools among the production dependencies (dependencies.txt): ${devTools.join(", ")}`);
if (unlocked.length > 0) console.error(`${target}: versions pnpm-lock.yaml does not pin (dependencies.txt): ${unlocked.join(", ")}`);
if (escaping.length > 0 || devTools.length > 0 || unlocked.length > 0) process.exit(1);
console.log(`${target}: ${list.length} production packages, all pinned by pnpm-lock.yaml, no dev tool (dependencies.txt)`);
