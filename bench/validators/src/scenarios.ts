import { do_not_optimize } from "mitata";
import type { Candidate } from "./candidates/types.js";
import { INVALID_ORG_ID, VALID_QUEUE, VALID_TOURNAMENT } from "./fixtures.js";

/** What is timed. Each returns a fresh closure per candidate so every call site sees one library only. */
export const SCENARIOS = [
  {
    key: "tournament",
    title: "valid tournament",
    run: (c: Candidate) => () => do_not_optimize(c.validate(VALID_TOURNAMENT)),
  },
  {
    key: "queue",
    title: "valid queue, 10 players",
    run: (c: Candidate) => () => do_not_optimize(c.validate(VALID_QUEUE)),
  },
  {
    key: "invalid",
    title: "invalid org_id → first error (path + message)",
    run: (c: Candidate) => () => do_not_optimize(c.validate(INVALID_ORG_ID)),
  },
  {
    key: "reject",
    title: "invalid → reject only",
    run: (c: Candidate) => () => do_not_optimize(c.check(INVALID_ORG_ID)),
  },
] as const;

export type ScenarioKey = (typeof SCENARIOS)[number]["key"];

/** What one measuring process reports for its candidate. */
export interface Measurement {
  id: string;
  /** Mean ns per call, per scenario. */
  ns: Record<ScenarioKey, number>;
  /** Schema build/compile + the three benchmark inputs validated once: the first time in a fresh process (library imported). */
  coldSetupUs: number;
  /** The same, median of repeated rebuilds. */
  warmSetupUs: number;
  firstError: string;
  pathNotes: string[];
}
