import { typeboxAjvCandidate } from "../candidates/typebox-ajv.js";
import type { Candidate } from "../candidates/types.js";

export const make = (): Candidate => typeboxAjvCandidate();
