/**
 * Run with `node --disallow-code-generation-from-strings`: V8 then refuses `eval` and `new Function` the way a
 * browser page with a Content-Security-Policy lacking 'unsafe-eval' does. Prints one JSON line per candidate.
 */

import { runConformance } from "./conformance.js";
import { CANDIDATE_IDS, loadCandidate } from "./entries/index.js";

let codegenBlocked = false;
try {
  new Function("return 1")();
} catch {
  codegenBlocked = true;
}

const results: { id: string; works: boolean; detail: string }[] = [];
for (const id of CANDIDATE_IDS) {
  let stage = "import";
  try {
    const make = await loadCandidate(id);
    stage = "build";
    const candidate = make();
    stage = "validate";
    const report = runConformance(candidate);
    results.push({ id, works: report.wrongDecisions.length === 0, detail: report.wrongDecisions.join("; ") });
  } catch (error) {
    results.push({ id, works: false, detail: `${stage} threw ${(error as Error).name}: ${(error as Error).message.split("\n")[0]}` });
  }
}
process.stdout.write(`${JSON.stringify({ codegenBlocked, results })}\n`);
