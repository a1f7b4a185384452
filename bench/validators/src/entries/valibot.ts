import type { Candidate } from "../candidates/types.js";
import { valibotCandidate } from "../candidates/valibot.js";

export const make = (): Candidate => valibotCandidate();
