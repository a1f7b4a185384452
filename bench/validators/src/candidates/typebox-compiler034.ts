import type { TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { typebox034Schemas } from "./typebox034.js";
import { type Candidate, OK, type Outcome, payloadPath, pointerToDotted } from "./types.js";

/** Legacy `@sinclair/typebox/compiler` TypeCompiler (0.34 line), for comparison with TypeBox 1.x `Compile`. */
export function typeboxCompiler034Candidate(): Candidate {
  const schemas = typebox034Schemas();
  const envelope = TypeCompiler.Compile(schemas.envelope);
  const payloads = new Map<string, TypeCheck<TSchema>>(Object.entries(schemas.payloads).map(([k, s]) => [k, TypeCompiler.Compile(s)]));

  const firstError = (check: TypeCheck<TSchema>, value: unknown, inPayload: boolean): Outcome => {
    const error = check.Errors(value).First();
    if (error === undefined) return { ok: false, path: "", message: "invalid" };
    const path = pointerToDotted(error.path);
    return { ok: false, path: inPayload ? payloadPath(path) : path, message: error.message };
  };

  return {
    name: "TypeBox 0.34 TypeCompiler",
    via: "@sinclair/typebox/compiler TypeCompiler.Compile",
    validate(input) {
      if (!envelope.Check(input)) return firstError(envelope, input, false);
      const check = payloads.get(input.type);
      if (check === undefined || check.Check(input.payload)) return OK;
      return firstError(check, input.payload, true);
    },
    check(input) {
      if (!envelope.Check(input)) return false;
      const check = payloads.get(input.type);
      return check === undefined || check.Check(input.payload);
    },
  };
}
