/**
 * Can each library hand out standard JSON Schema for the same schemas, and does that JSON Schema mean the same thing?
 * Each export is compiled by ajv (draft-07, or 2020-12 where the export says so) and run through the same
 * envelope-then-payload pipeline over the conformance cases.
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import * as z from "zod";
import { typebox1Schemas } from "./candidates/typebox1.js";
import { typebox034Schemas } from "./candidates/typebox034.js";
import { valibotSchemas } from "./candidates/valibot.js";
import { zodSchemas } from "./candidates/zod.js";
import { CONFORMANCE } from "./fixtures.js";

interface Exported {
  envelope: unknown;
  payloads: Record<string, unknown>;
}

const mapValues = <T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));

/** TypeBox schemas are JSON Schema already; JSON round-trip drops its symbol-keyed metadata. */
const plain = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema));

export const EXPORTERS: ReadonlyArray<{ library: string; how: string; run: () => Exported }> = [
  {
    library: "zod 4",
    how: "`z.toJSONSchema(schema)` (draft 2020-12)",
    run: () => {
      const s = zodSchemas();
      return {
        envelope: z.toJSONSchema(s.envelope, { io: "input" }),
        payloads: mapValues(s.payloads, (p) => z.toJSONSchema(p, { io: "input" })),
      };
    },
  },
  {
    library: "TypeBox 0.34",
    how: "the schema object is JSON Schema (draft-07)",
    run: () => {
      const s = typebox034Schemas();
      return { envelope: plain(s.envelope), payloads: mapValues(s.payloads, plain) };
    },
  },
  {
    library: "TypeBox 1.x",
    how: "the schema object is JSON Schema",
    run: () => {
      const s = typebox1Schemas();
      return { envelope: plain(s.envelope), payloads: mapValues(s.payloads, plain) };
    },
  },
  {
    library: "valibot 1.x",
    how: "`toJsonSchema(schema)` from `@valibot/to-json-schema` (draft-07)",
    run: () => {
      const s = valibotSchemas();
      // `v.custom` (the non-array payload check) has no JSON Schema form: the default errorMode "throw" refuses it.
      const config = {
        overrideSchema: ({ valibotSchema }: { valibotSchema: { type: string } }) =>
          valibotSchema.type === "custom" ? { type: "object" as const } : undefined,
      };
      return { envelope: toJsonSchema(s.envelope, config), payloads: mapValues(s.payloads, (p) => toJsonSchema(p, config)) };
    },
  },
];

export interface ExportCheck {
  library: string;
  how: string;
  /** Conformance cases on which the exported JSON Schema (run by ajv) agrees with the expected decision. */
  agree: number;
  total: number;
  disagreements: string[];
  error?: string;
}

export function checkExports(): ExportCheck[] {
  return EXPORTERS.map(({ library, how, run }) => {
    const total = CONFORMANCE.length;
    try {
      const exported = run();
      const is2020 = JSON.stringify(exported.envelope).includes("draft/2020-12");
      const ajv = is2020 ? new Ajv2020({ allErrors: false }) : new Ajv({ allErrors: false });
      const compile = (schema: unknown) => ajv.compile(schema as object);
      const envelope = compile(exported.envelope);
      const payloads = new Map<string, ValidateFunction>(Object.entries(exported.payloads).map(([k, s]) => [k, compile(s)]));
      const disagreements: string[] = [];
      for (const c of CONFORMANCE) {
        let ok = envelope(c.input);
        if (ok) {
          const { type, payload } = c.input as { type: string; payload: unknown };
          const validatePayload = payloads.get(type);
          ok = validatePayload === undefined || validatePayload(payload);
        }
        if (ok !== c.expected) disagreements.push(c.name);
      }
      return { library, how, agree: total - disagreements.length, total, disagreements };
    } catch (error) {
      return { library, how, agree: 0, total, disagreements: [], error: (error as Error).message };
    }
  });
}
