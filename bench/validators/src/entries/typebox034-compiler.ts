import { typeboxCompiler034Candidate } from "../candidates/typebox-compiler034.js";
import type { Candidate } from "../candidates/types.js";

export const make = (): Candidate => typeboxCompiler034Candidate();
