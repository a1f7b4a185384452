import type { Candidate } from "../candidates/types.js";

/**
 * Every row of the results table, in display order. `src/entries/<id>.ts` exports `make`, which builds and compiles
 * that candidate's schemas; importing an entry loads that one library only.
 */
export const CANDIDATE_IDS = [
  "zod",
  "zod-compiled",
  "zod-jitless",
  "typebox-ajv",
  "typebox1",
  "typebox1-noeval",
  "typebox034-compiler",
  "valibot",
] as const;

export type CandidateId = (typeof CANDIDATE_IDS)[number];

export async function loadCandidate(id: CandidateId): Promise<() => Candidate> {
  const entry = (await import(`./${id}.js`)) as { make: () => Candidate };
  return entry.make;
}
