import type { Candidate } from "../candidates/types.js";
import { zodCandidate } from "../candidates/zod.js";

export const make = (): Candidate => zodCandidate("jitless");
