import { Type } from "@sinclair/typebox";
import { CLIENT_EVENT_NAME, MAX_CLIENT_EVENT_BYTES } from "./client-events.js";
import { compile } from "./schemas/compile.js";
import type { NamespaceSpec } from "./topic-registry.js";

const ClientEventName = Type.String({ pattern: CLIENT_EVENT_NAME.source });

/** Namespace declarations as configuration gives them (`HUB_NAMESPACES`), as JSON Schema. */
export const NamespaceSpecSchema = Type.Object(
  {
    name: Type.String({ pattern: "^[a-z][a-z0-9_]{0,31}$" }),
    scope: Type.Union([Type.Literal("user"), Type.Literal("org"), Type.Literal("authenticated")]),
    maxSegments: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
    pattern: Type.Optional(Type.String({ maxLength: 512 })),
    history: Type.Optional(
      Type.Union([
        Type.Object(
          { ttlMs: Type.Integer({ minimum: 1 }), size: Type.Integer({ minimum: 1, maximum: 100_000 }) },
          { additionalProperties: false },
        ),
        Type.Null(),
      ]),
    ),
    presence: Type.Optional(Type.Boolean()),
    presenceEvents: Type.Optional(
      Type.Object(
        { join: ClientEventName, leave: ClientEventName, update: Type.Optional(ClientEventName) },
        { additionalProperties: false },
      ),
    ),
    authorize: Type.Optional(Type.Union([Type.Literal("scope"), Type.Literal("grant")])),
    clientEvents: Type.Optional(
      Type.Record(
        Type.String({ pattern: CLIENT_EVENT_NAME.source }),
        Type.Object(
          {
            kind: Type.Union([Type.Literal("durable"), Type.Literal("ephemeral")]),
            deliverAs: Type.Optional(ClientEventName),
            maxBytes: Type.Optional(Type.Integer({ minimum: 2, maximum: MAX_CLIENT_EVENT_BYTES })),
            /** A JSON Schema for `data`. */
            schema: Type.Optional(Type.Object({}, { additionalProperties: true })),
          },
          { additionalProperties: false },
        ),
        { maxProperties: 64 },
      ),
    ),
  },
  { additionalProperties: false },
);

const specs = compile(Type.Array(NamespaceSpecSchema));

/** Parses a JSON list of namespace declarations; throws with a readable message on the first problem. */
export function parseNamespaceSpecs(json: string): NamespaceSpec[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error("is not valid JSON");
  }
  if (!specs.check(raw)) throw new Error(specs.issues(raw, "", 1)[0] ?? "is invalid");
  return (raw as Array<Omit<NamespaceSpec, "pattern"> & { pattern?: string }>).map(({ pattern, ...spec }) => {
    if (pattern === undefined) return spec;
    try {
      return { ...spec, pattern: new RegExp(pattern) };
    } catch {
      throw new Error(`${spec.name}.pattern: must be a valid regular expression`);
    }
  });
}
