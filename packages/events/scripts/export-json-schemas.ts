// Writes packages/events/schemas/*.json from the schema catalog. A test fails when they are stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { JSON_SCHEMA_DIR, jsonSchemaFiles } from "../src/schemas/json-schema-files.js";

const dir = new URL(`../${JSON_SCHEMA_DIR}/`, import.meta.url);
mkdirSync(dir, { recursive: true });
for (const stale of readdirSync(dir)) if (stale.endsWith(".json")) rmSync(new URL(stale, dir));
const files = jsonSchemaFiles();
for (const [name, content] of files) writeFileSync(new URL(name, dir), content);
console.log(`wrote ${files.size} files to packages/events/${JSON_SCHEMA_DIR}/`);
