import { typebox1Candidate } from "../candidates/typebox1.js";
import type { Candidate } from "../candidates/types.js";

export const make = (): Candidate => typebox1Candidate({ acceleration: true });
