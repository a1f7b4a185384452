import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode, errorCodesOn } from "./error-codes.js";
import { ROUTES } from "./routing.js";
import { EVENT_SCHEMAS } from "./schemas/catalog.js";
import { BUILTIN_NAMESPACES } from "./topic-registry.js";

// docs/protocol.md restates this package's tables for readers; these tests keep it from drifting.
const DOC = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");

/** The text of a `##` / `###` section, up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const level = heading.indexOf(" ");
  const start = DOC.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no "${heading}" section`);
  const rest = DOC.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`\\n#{1,${level}} `));
  return next < 0 ? rest : rest.slice(0, next);
}

/** The cells of every table row of a section whose first cell contains `` `name` ``. */
function rowsNaming(text: string, name: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) =>
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
    .filter((cells) => cells[0]?.includes(`\`${name}\``));
}

const recoveryWindow = (ttlMs: number) => (ttlMs % 86_400_000 === 0 ? `${ttlMs / 86_400_000} days` : `${ttlMs / 60_000} min`);

describe("docs/protocol.md matches packages/events", () => {
  it("has an Error codes row per code of ERROR_CODES, with its surfaces, HTTP status and transient flag, and no other", () => {
    const errorCodes = section("### Error codes");
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const rows = rowsNaming(errorCodes, code).filter((cells) => cells[0] === `\`${code}\``);
      expect(rows, code).toHaveLength(1);
      const [, surfaces = "", status = "", transient = ""] = rows[0] ?? [];
      expect(
        surfaces.split(",").map((s) => s.trim()),
        code,
      ).toEqual([...spec.surfaces]);
      expect(status, code).toBe(String(spec.status));
      expect(transient, code).toBe(spec.transient ? "yes" : "no");
    }
    const documented = errorCodes.split("\n").filter((line) => /^\| `[a-z_]+` /.test(line));
    expect(documented).toHaveLength(Object.keys(ERROR_CODES).length);
  });

  it("has a Publish errors row for every publish code", () => {
    const publishErrors = section("## Publish errors");
    for (const code of errorCodesOn("publish") as ErrorCode[]) expect(rowsNaming(publishErrors, code), code).not.toEqual([]);
  });

  it("has a routing-table row per route, with its client event", () => {
    const table = section("## Routing table");
    for (const route of ROUTES) {
      const rows = rowsNaming(table, route.match);
      expect(rows, route.match).toHaveLength(1);
      expect(rows[0]?.[2], route.match).toBe(route.clientEvent === null ? "the full type" : `\`${route.clientEvent}\``);
    }
    const documented = table.split("\n").filter((line) => /^\| `[a-z_.*]+` /.test(line));
    expect(documented).toHaveLength(ROUTES.length);
  });

  it("describes every built-in namespace with its scope, history window and presence", () => {
    const topics = section("## Topics and namespaces");
    for (const ns of BUILTIN_NAMESPACES) {
      const [row] = rowsNaming(topics, ns.name).filter((cells) => cells.length === 5);
      expect(row, ns.name).toBeDefined();
      const history = ns.history ? `${recoveryWindow(ns.history.ttlMs)} / ${ns.history.size} events` : "none";
      expect(row, ns.name).toEqual([`\`${ns.name}\``, `\`${ns.scope}\``, expect.any(String), history, ns.presence ? "yes" : "no"]);
    }
  });

  it("has a schema-table row for every event type and version", () => {
    const schemas = section("## Versioned types and schemas");
    for (const spec of EVENT_SCHEMAS) {
      const versions = rowsNaming(schemas, spec.type).map((cells) => cells[1]);
      expect(versions, spec.type).toContain(spec.type.endsWith(".*") ? "any" : String(spec.version ?? 1));
    }
  });
});
