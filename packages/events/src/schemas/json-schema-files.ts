import { SchemaRegistry } from "./schema-registry.js";

/** Where the exported JSON Schemas live, relative to the package root. */
export const JSON_SCHEMA_DIR = "schemas";

/**
 * The JSON Schema files of every domain type and version (`notification.created.v1.json`,
 * `roster.any.json`, ...), plus an index: what `pnpm --filter @hub/events schemas` writes.
 */
export function jsonSchemaFiles(registry: SchemaRegistry = new SchemaRegistry()): Map<string, string> {
  const files = new Map<string, string>();
  const index: Array<{ file: string; title: string }> = [];
  for (const { name, schema } of registry.jsonSchemas()) {
    const file = `${name}.json`;
    files.set(file, `${JSON.stringify(schema, null, 2)}\n`);
    index.push({ file, title: name });
  }
  files.set(
    "index.json",
    `${JSON.stringify({ description: "JSON Schemas of the hub's producer events, one file per type and version.", schemas: index }, null, 2)}\n`,
  );
  return files;
}
