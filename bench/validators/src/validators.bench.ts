/**
 * Which schema validator for the publish pipeline's hot path? One run compares zod 4, TypeBox + ajv, TypeBox's own
 * compiler and valibot on the same schemas (src/candidates, wired up in src/entries) and prints a markdown report.
 *
 *   cd bench/validators && pnpm bench           # print the report
 *   cd bench/validators && pnpm bench --write   # also replace the generated part of RESULTS.md
 *
 * Every candidate is measured in its own short-lived node process (see measure-candidate.ts), BENCH_RUNS times
 * (default 5), the candidates in a different order each time; each figure is the median over those runs.
 * Other knobs: BENCH_MS and BENCH_WARMUP_MS per scenario and process.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { do_not_optimize, measure } from "mitata";
import { CANDIDATE_IDS, type CandidateId, loadCandidate } from "./entries/index.js";
import { CONFORMANCE, VALID_QUEUE, VALID_TOURNAMENT } from "./fixtures.js";
import { bundleSizes, installSize, packageVersion } from "./footprint.js";
import { checkExports } from "./json-schema-export.js";
import { type Measurement, SCENARIOS, type ScenarioKey } from "./scenarios.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE_DIR = join(HERE, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const started = performance.now();
const log = (message: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

// ---------------------------------------------------------------------------------------------------------------------
// 1. One plain-node script per candidate: its entry + the measuring harness, packages left as imports. Written under
//    node_modules/.cache so that "zod", "ajv", … resolve from this package's node_modules.

const SCRIPT_DIR = join(PACKAGE_DIR, "node_modules", ".cache", "bench-validators");
mkdirSync(SCRIPT_DIR, { recursive: true });
const scripts = new Map<CandidateId, string>();
for (const id of CANDIDATE_IDS) {
  const outfile = join(SCRIPT_DIR, `${id}.mjs`);
  await build({
    stdin: {
      contents: `import { make } from "./entries/${id}.js"; import { runMeasurement } from "./measure-candidate.js"; await runMeasurement(${JSON.stringify(id)}, make);`,
      resolveDir: HERE,
      loader: "ts",
    },
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node20",
    outfile,
    logLevel: "warning",
  });
  scripts.set(id, outfile);
}
log(`built ${scripts.size} measuring scripts`);

// ---------------------------------------------------------------------------------------------------------------------
// 2. Throughput: RUNS rounds; in each, every candidate once in its own process, in a shuffled order.

let seed = 0x5eed;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const runs = new Map<CandidateId, Measurement[]>(CANDIDATE_IDS.map((id) => [id, []]));
for (let run = 0; run < RUNS; run++) {
  const order = CANDIDATE_IDS.map((id) => ({ id, key: random() })).sort((a, b) => a.key - b.key);
  for (const { id } of order) {
    const script = scripts.get(id) as string;
    const out = execFileSync(process.execPath, [script, String(run + 1)], { cwd: PACKAGE_DIR, encoding: "utf8" });
    runs.get(id)?.push(JSON.parse(out) as Measurement);
  }
  log(`run ${run + 1}/${RUNS}`);
}

// Raw per-process numbers, for looking into the spread.
writeFileSync(join(SCRIPT_DIR, "last-run.json"), `${JSON.stringify(Object.fromEntries(runs), null, 1)}\n`);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const measurements = (id: CandidateId) => runs.get(id) ?? [];
const result = (id: CandidateId, scenario: ScenarioKey) => {
  const sorted = measurements(id)
    .map((m) => m.ns[scenario])
    .sort((a, b) => a - b);
  const ns = median(sorted);
  // Interquartile range (2nd to 4th of 5 processes): robust to the odd process slowed by GC or the host.
  const low = sorted[Math.floor((sorted.length - 1) / 4)] ?? ns;
  const high = sorted[Math.ceil((3 * (sorted.length - 1)) / 4)] ?? ns;
  return { ns, spread: (high - low) / ns };
};

// ---------------------------------------------------------------------------------------------------------------------
// 3. Code generation blocked, footprint, JSON Schema export; the names and first errors from in-process candidates.

const csp = JSON.parse(
  execFileSync(process.execPath, ["--disallow-code-generation-from-strings", "--import", "tsx", join(HERE, "csp-check.ts")], {
    cwd: PACKAGE_DIR,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }),
) as { codegenBlocked: boolean; results: { id: string; works: boolean; detail: string }[] };
if (!csp.codegenBlocked) throw new Error("--disallow-code-generation-from-strings did not block new Function");
log("code generation blocked: checked");

// Context: what the hub already pays per event before validating it.
const jsonParseNs: Record<string, number> = {};
for (const [key, value] of [
  ["tournament", VALID_TOURNAMENT],
  ["queue", VALID_QUEUE],
] as const) {
  const text = JSON.stringify(value);
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push((await measure(() => do_not_optimize(JSON.parse(text)), { min_cpu_time: 80e6, batch_samples: 256 })).avg);
  }
  jsonParseNs[key] = median(samples);
}

const bundles = await bundleSizes(CANDIDATE_IDS);
const exportsChecked = checkExports();
const names = new Map<CandidateId, { name: string; via: string }>();
for (const id of CANDIDATE_IDS) {
  const { name, via } = (await loadCandidate(id))();
  names.set(id, { name, via });
}
log("footprint and JSON Schema export");

// ---------------------------------------------------------------------------------------------------------------------
// 4. Report.

/** Facts per row that a benchmark cannot discover by timing: what the library does with `new Function`. */
const CODEGEN: Record<CandidateId, string> = {
  zod: "optional: JIT for object shapes, probed; falls back",
  "zod-compiled": "optional: `z.compile` generates code; falls back to the runtime parser",
  "zod-jitless": "no (`jitless`)",
  "typebox-ajv": "**required** (ajv's standalone code, generated at build time, is the CSP way)",
  typebox1: "optional: `Compile` probes for eval; falls back to its interpreter",
  "typebox1-noeval": "no (`useAcceleration: false`)",
  "typebox034-compiler": "**required** (0.34's eval-free path is `Value.Check`)",
  valibot: "never",
};
const BUNDLE_OF: Partial<Record<CandidateId, CandidateId>> = { "zod-jitless": "zod", "typebox1-noeval": "typebox1" };
const PACKAGES: Record<CandidateId, string[]> = {
  zod: ["zod"],
  "zod-compiled": ["zod"],
  "zod-jitless": ["zod"],
  "typebox-ajv": ["@sinclair/typebox", "ajv"],
  typebox1: ["typebox"],
  "typebox1-noeval": ["typebox"],
  "typebox034-compiler": ["@sinclair/typebox"],
  valibot: ["valibot"],
};

const fmtOps = (ns: number) => {
  const ops = 1e9 / ns;
  return ops >= 1e6 ? `${(ops / 1e6).toFixed(2)} M` : `${(ops / 1e3).toFixed(0)} k`;
};
const fmtNs = (ns: number) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
const cell = (id: CandidateId, scenario: ScenarioKey) => {
  const { ns } = result(id, scenario);
  return `${fmtOps(ns)} (${fmtNs(ns)})`;
};
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const size = (k: number) => (k >= 1024 ? `${(k / 1024).toFixed(1)} MiB` : `${k} KiB`);
/** Text from a library (error messages) inside a table cell: `|` would end the cell. */
const escapeCell = (text: string) => text.replaceAll("|", "\\|");
const us = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(1)} ms` : `${value.toFixed(0)} µs`);

const lines: string[] = [];
const cpu = cpus()[0]?.model ?? "unknown CPU";
lines.push(
  `Machine: ${cpu}, \`nproc\` = ${execFileSync("nproc", { encoding: "utf8" }).trim()}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. ` +
    `Each candidate measured in ${RUNS} separate node processes (one library per process, candidates in shuffled order); ` +
    `in each, every scenario warmed up ${process.env.BENCH_WARMUP_MS ?? 40} ms, then timed with mitata ${packageVersion("mitata")} ` +
    `for ≥ ${process.env.BENCH_MS ?? 80} ms. Each figure is the median over the ${RUNS} processes of mitata's mean time per call. ` +
    `Whole run: ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  "",
  "Versions: " +
    ["zod", "@sinclair/typebox", "ajv", "typebox", "valibot", "@valibot/to-json-schema"]
      .map((p) => `${p} ${packageVersion(p)}`)
      .join(", ") +
    ".",
  "",
  "### Hot path: ops/s (ns per call)",
  "",
  "Each call validates the envelope, then the payload schema registered for its `type`; a failure yields the first issue's dotted path and message.",
  "",
  "| Validator | valid tournament | valid queue, 10 players | invalid org_id → first error (path + message) | invalid → reject only | cost of error details | spread |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
);
for (const id of CANDIDATE_IDS) {
  const invalid = result(id, "invalid").ns;
  const reject = result(id, "reject").ns;
  const spread = Math.max(...SCENARIOS.map((s) => result(id, s.key).spread));
  const details = invalid - reject;
  lines.push(
    `| ${names.get(id)?.name} | ${cell(id, "tournament")} | ${cell(id, "queue")} | ${cell(id, "invalid")} | ${cell(id, "reject")} | ` +
      `${Math.abs(details) < 0.1 * reject ? "≈ 0" : `+${fmtNs(details)}`} (×${(invalid / reject).toFixed(1)}) | ±${((spread * 100) / 2).toFixed(0)}% |`,
  );
}
lines.push(
  "",
  "*cost of error details* = first-error time − reject-only time for the same input (×: ratio). " +
    "*spread*: half the interquartile range of the per-process figures, relative to the median, worst of the four columns " +
    "(single processes slowed 1.5–3× by GC or the host do occur; the median discards them; raw figures: `node_modules/.cache/bench-validators/last-run.json`).",
  "",
  `For scale: \`JSON.parse\` of the same events takes ${fmtNs(jsonParseNs.tournament ?? Number.NaN)} (tournament, ` +
    `${JSON.stringify(VALID_TOURNAMENT).length} bytes) and ${fmtNs(jsonParseNs.queue ?? Number.NaN)} (queue, ${JSON.stringify(VALID_QUEUE).length} bytes) here.`,
  "",
  "### Errors, eval and footprint",
  "",
  "| Validator | entry point | first error for `org_id: true` | `new Function` | runs with code generation blocked¹ | setup: cold / warm² | bundle min / gzip³ | install size⁴ |",
  "| --- | --- | --- | --- | --- | ---: | ---: | --- |",
);
for (const id of CANDIDATE_IDS) {
  const first = measurements(id)[0];
  const cspResult = csp.results.find((r) => r.id === id);
  const blocked = cspResult === undefined ? "?" : cspResult.works ? "yes" : `**no**: ${cspResult.detail}`;
  const bundle = bundles[BUNDLE_OF[id] ?? id];
  const install = PACKAGES[id]
    .map((p) => {
      const s = installSize(p);
      return s.deps.length === 0 ? `${p} ${size(s.ownKiB)}` : `${p} ${size(s.ownKiB)} (+ ${s.deps.length} deps: ${size(s.withDepsKiB)})`;
    })
    .join(" + ");
  lines.push(
    `| ${names.get(id)?.name} | \`${names.get(id)?.via}\` | ${escapeCell(first?.firstError ?? "?")} | ${CODEGEN[id]} | ${blocked} | ` +
      `${us(median(measurements(id).map((m) => m.coldSetupUs)))} / ${us(median(measurements(id).map((m) => m.warmSetupUs)))} | ` +
      `${bundle === undefined ? "—" : `${kib(bundle.min)} / ${kib(bundle.gzip)}`} | ${install} |`,
  );
}
lines.push(
  "",
  "¹ The whole conformance suite run in a child `node --disallow-code-generation-from-strings`, which makes V8 refuse `eval`/`new Function` " +
    "as a page whose Content-Security-Policy lacks `'unsafe-eval'` does.",
  "",
  "² Build the schemas, compile them, validate the three benchmark inputs once (module import not included). " +
    "Cold: the first time in a fresh process; warm: median of 9 rebuilds in that process; both medians over the processes.",
  "",
  "³ esbuild, minified ESM for the browser, of `src/entries/<id>.ts`: library + these schemas + the adapter in `src/candidates`, gzip -9. " +
    'The `import * as z from "zod"` form; `import { z } from "zod"` defeats tree-shaking and bundles ~445 KiB minified.',
  "",
  "⁴ `du -sk` of the package's real directory (`node_modules/<pkg>` is a pnpm symlink) plus its production dependencies.",
  "",
  "### Standard JSON Schema export",
  "",
  "Each export compiled by ajv and run through the same envelope → payload pipeline over the conformance cases.",
  "",
  "| Library | how | agrees with the library on |",
  "| --- | --- | --- |",
);
for (const e of exportsChecked) {
  const verdict =
    e.error !== undefined
      ? `export failed: ${e.error}`
      : `${e.agree}/${e.total} cases${e.disagreements.length > 0 ? ` (differs: ${e.disagreements.join(", ")})` : ""}`;
  lines.push(`| ${e.library} | ${e.how} | ${verdict} |`);
}
const pathNotes = CANDIDATE_IDS.flatMap((id) => (measurements(id)[0]?.pathNotes ?? []).map((note) => `${names.get(id)?.name} — ${note}`));
lines.push(
  "",
  pathNotes.length === 0
    ? `All candidates agree on accept/reject and on the first error's path for all ${CONFORMANCE.length} conformance cases (src/fixtures.ts).`
    : `All candidates agree on accept/reject for all ${CONFORMANCE.length} conformance cases; first-error paths that differ:`,
  ...pathNotes.map((n) => `- ${n}`),
);

const report = lines.join("\n");
process.stdout.write(`${report}\n`);

if (process.argv.includes("--write")) {
  const file = join(PACKAGE_DIR, "RESULTS.md");
  const START = "<!-- results:start -->";
  const END = "<!-- results:end -->";
  const current = readFileSync(file, "utf8");
  const from = current.indexOf(START);
  const to = current.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${file} lacks the ${START} … ${END} markers`);
  writeFileSync(file, `${current.slice(0, from + START.length)}\n${report}\n${current.slice(to)}`);
  // The repository's biome formats markdown too (it aligns the tables); keep `biome check` clean.
  try {
    execFileSync(join(PACKAGE_DIR, "..", "..", "node_modules", ".bin", "biome"), ["format", "--write", file], { stdio: "ignore" });
  } catch {
    log("biome format RESULTS.md failed; run `npx biome format --write bench/validators/RESULTS.md`");
  }
  log(`wrote ${file}`);
}
log("done");
