import type { Candidate } from "./candidates/types.js";
import { CONFORMANCE } from "./fixtures.js";

export interface ConformanceReport {
  /** Cases whose accept/reject decision differs from the expected one (via `validate` or `check`): must be empty. */
  wrongDecisions: string[];
  /** Rejected cases whose first error path differs from the expected one: informational. */
  otherPaths: string[];
}

export function runConformance(candidate: Candidate): ConformanceReport {
  const report: ConformanceReport = { wrongDecisions: [], otherPaths: [] };
  for (const c of CONFORMANCE) {
    const outcome = candidate.validate(c.input);
    const checked = candidate.check(c.input);
    if (outcome.ok !== c.expected || checked !== c.expected) {
      report.wrongDecisions.push(`${c.name}: validate=${outcome.ok} check=${checked}, expected ${c.expected}`);
    } else if (!outcome.ok && outcome.path !== c.path) {
      report.otherPaths.push(`${c.name}: "${outcome.path}" (expected "${c.path}")`);
    }
  }
  return report;
}
