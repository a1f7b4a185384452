import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ProtocolErrorCode, PublishErrorCode } from "./hub-error.js";
import { ROUTES } from "./routing.js";
import { EVENT_SCHEMAS } from "./schemas/catalog.js";
import { BUILTIN_NAMESPACES } from "./topic-registry.js";

// docs/protocol.md restates this package's tables for readers; these tests keep it from drifting.
const DOC = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");

// Records over the unions: the compiler fails when a code is added to the contract and not here.
const PROTOCOL_CODES: Record<ProtocolErrorCode, true> = {
  bad_request: true,
  invalid_topic: true,
  unknown_namespace: true,
  forbidden: true,
  too_many_subscriptions: true,
  rate_limited: true,
  token_missing: true,
  token_invalid: true,
  token_expired: true,
  token_revoked: true,
  too_many_connections: true,
  not_found: true,
  unavailable: true,
  internal: true,
};
const PUBLISH_CODES: Record<PublishErrorCode, true> = {
  invalid_json: true,
  invalid_event: true,
  unknown_type: true,
  no_route: true,
  org_mismatch: true,
  payload_too_large: true,
};

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
  it("lists every ProtocolErrorCode under Error codes and every PublishErrorCode under Publish errors", () => {
    const errorCodes = section("### Error codes");
    for (const code of Object.keys(PROTOCOL_CODES)) expect(errorCodes, code).toContain(`\`${code}\``);
    const publishErrors = section("## Publish errors");
    for (const code of Object.keys(PUBLISH_CODES)) expect(rowsNaming(publishErrors, code), code).not.toEqual([]);
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
