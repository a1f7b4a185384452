import "./formats.js";
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { ValueError } from "@sinclair/typebox/errors";

/** A compiled validator: `issues` is empty for a valid value, else `path: message` lines. */
export interface CompiledCheck {
  check(value: unknown): boolean;
  issues(value: unknown, prefix?: string, limit?: number): string[];
  /** TypeBox's errors for the value, each with the schema it failed (for annotations of that schema). */
  errors(value: unknown): Iterable<ValueError>;
}

/** Compiles a schema once (TypeBox's compiler generates a specialized function). */
export function compile(schema: TSchema): CompiledCheck {
  const compiled = TypeCompiler.Compile(schema);
  return {
    check: (value) => compiled.Check(value),
    errors: (value) => compiled.Errors(value),
    issues(value, prefix = "", limit = 10) {
      const out: string[] = [];
      for (const error of compiled.Errors(value)) {
        const precise = mostSpecific(error);
        const path = prefix + precise.path.slice(1).replaceAll("/", ".");
        out.push(`${path || "(root)"}: ${precise.message}`);
        if (out.length >= limit) break;
      }
      return out;
    },
  };
}

/**
 * "Expected union value" says little; of the errors each union member reports, the one deepest in
 * the value names what is actually wrong (`history.ttlMs` rather than `history`).
 */
function mostSpecific(error: ValueError): ValueError {
  let best = error;
  for (const variant of error.errors) {
    const first = variant.First();
    if (first === undefined) continue;
    const candidate = mostSpecific(first);
    if (candidate.path.length > best.path.length) best = candidate;
  }
  return best;
}
