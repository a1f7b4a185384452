import { z } from "zod";
import type { NamespaceSpec } from "./topic-registry.js";

/** Validates namespace declarations that come from configuration (`HUB_NAMESPACES`). */
export const namespaceSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, "lowercase letters, digits and _, starting with a letter"),
    scope: z.enum(["user", "org", "authenticated"]),
    maxSegments: z.number().int().min(1).max(8).optional(),
    history: z
      .object({ ttlMs: z.number().int().positive(), size: z.number().int().positive().max(100_000) })
      .strict()
      .nullable()
      .optional(),
    presence: z.boolean().optional(),
  })
  .strict();

/** Parses a JSON list of namespace declarations; throws with a readable message on the first problem. */
export function parseNamespaceSpecs(json: string): NamespaceSpec[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error("is not valid JSON");
  }
  const result = z.array(namespaceSpecSchema).safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return result.data as NamespaceSpec[];
}
