// Copies what a package reads from disk at runtime next to its compiled code: every file under src/
// that tsc does not emit (Lua scripts with their includes/, the web console's page, script and
// stylesheet). They are found through `new URL("./...", import.meta.url)`, so dist/ keeps src/'s layout.
// Run from the package directory: `node ../../scripts/copy-assets.mjs` after `tsc`.
import { cpSync } from "node:fs";

const TYPESCRIPT = /\.(c|m)?ts$/; // sources and hand-written declarations: tsc's business

cpSync("src", "dist", { recursive: true, filter: (path) => !TYPESCRIPT.test(path) });
