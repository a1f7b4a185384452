/**
 * Runs in a child process of validators.bench.ts and measures ONE candidate, so that no other validator's code runs
 * in the process (zod's three modes share zod's internals; mixed in one process each of them gets slower).
 * validators.bench.ts bundles `src/entries/<id>.ts` with this module into a plain-node script and runs it as
 * `node <script> <seed>`; it prints one JSON `Measurement` line.
 * Knobs (environment): BENCH_MS (per scenario), BENCH_WARMUP_MS (per scenario), BENCH_REBUILDS.
 */
import { measure } from "mitata";
import type { Candidate } from "./candidates/types.js";
import { runConformance } from "./conformance.js";
import { INVALID_ORG_ID, VALID_QUEUE, VALID_TOURNAMENT } from "./fixtures.js";
import { type Measurement, SCENARIOS, type ScenarioKey } from "./scenarios.js";

export async function runMeasurement(id: string, make: () => Candidate): Promise<void> {
  const seedArg = process.argv[2] ?? "1";
  const taskMs = Number(process.env.BENCH_MS ?? 80);
  const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 40);
  const rebuildCount = Number(process.env.BENCH_REBUILDS ?? 9);

  const buildOnce = () => {
    const candidate = make();
    candidate.validate(VALID_TOURNAMENT);
    candidate.validate(VALID_QUEUE);
    candidate.validate(INVALID_ORG_ID);
    return candidate;
  };

  let t0 = performance.now();
  const candidate = buildOnce();
  const coldSetupUs = (performance.now() - t0) * 1000;

  const report = runConformance(candidate);
  if (report.wrongDecisions.length > 0) {
    process.stderr.write(`${candidate.name} disagrees with the expected decisions:\n  ${report.wrongDecisions.join("\n  ")}\n`);
    process.exit(1);
  }

  // Warm-up interleaves the scenarios (as a publish pipeline sees a mix of events), so that the type feedback V8
  // optimizes on is the mixed one before anything is timed.
  const tasks = SCENARIOS.map((s) => ({ key: s.key, fn: s.run(candidate) }));
  const warmupUntil = performance.now() + warmupMs * tasks.length;
  for (let cycle = 0; cycle < 20 || performance.now() < warmupUntil; cycle++) {
    for (const task of tasks) for (let i = 0; i < 200; i++) task.fn();
  }

  // The scenario order differs per process (seeded by the parent), so no scenario is always measured first.
  let seed = Number(seedArg) * 7919 + 17;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const ns = {} as Record<ScenarioKey, number>;
  for (const { task } of tasks.map((task) => ({ task, key: random() })).sort((a, b) => a.key - b.key)) {
    const stats = await measure(task.fn, { min_cpu_time: taskMs * 1e6, batch_samples: 256, warmup_samples: 4 });
    ns[task.key] = stats.avg;
  }

  const rebuilds: number[] = [];
  for (let i = 0; i < rebuildCount; i++) {
    t0 = performance.now();
    buildOnce();
    rebuilds.push((performance.now() - t0) * 1000);
  }
  rebuilds.sort((a, b) => a - b);

  const outcome = candidate.validate(INVALID_ORG_ID);
  const result: Measurement = {
    id,
    ns,
    coldSetupUs,
    warmSetupUs: rebuilds[rebuilds.length >> 1] ?? Number.NaN,
    firstError: outcome.ok ? "(accepted!)" : `\`${outcome.path}\`: ${outcome.message}`,
    pathNotes: report.otherPaths,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
