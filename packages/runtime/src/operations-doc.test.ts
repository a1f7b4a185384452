import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envReads, intSpecs, oneOfValues, ROOT } from "../test/env-reads.js";

// docs/operations.md lists every variable the processes read (issue 17): a row of one of its
// `| variable | ...` tables per variable, with what applies when it is unset, its range and default
// as the code has them, and no variable the code does not read.
const DOC = readFileSync(join(ROOT, "docs", "operations.md"), "utf8");

interface Row {
  /** The variables the first cell names (`` `NAME` ``). */
  names: string[];
  /** The cells after the first, by column header. */
  cells: Map<string, string>;
  /** The whole line. */
  text: string;
}

/** The rows of every table whose first header cell is `variable`. */
function variableRows(): Row[] {
  const rows: Row[] = [];
  let headers: string[] | undefined;
  for (const line of DOC.split("\n")) {
    if (!line.startsWith("|")) {
      headers = undefined;
      continue;
    }
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (headers === undefined) {
      headers = cells;
      continue;
    }
    if (headers[0] !== "variable" || /^-+$/.test(cells[0] ?? "")) continue;
    const names = [...(cells[0] ?? "").matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string);
    rows.push({ names, cells: new Map(cells.slice(1).map((cell, i) => [headers?.[i + 1] ?? "", cell])), text: line });
  }
  return rows;
}

/** How a bound may be written: `16777216` or `2^24`. */
const bound = (n: number) => (n >= 1024 && Number.isInteger(Math.log2(n)) ? `(?:${n}|2\\^${Math.log2(n)})` : String(n));

describe("docs/operations.md documents every variable the processes read", () => {
  const rows = variableRows();
  const names = new Set(envReads().map((read) => read.name));
  const rowsOf = (name: string) => rows.filter((row) => row.names.includes(name));

  it("finds the doc's variable tables and the code's variables", () => {
    expect(rows.length).toBeGreaterThan(40);
    expect(names.size).toBeGreaterThan(60);
  });

  it("has a row for every variable read in apps/*/src and packages/*/src, saying what applies when it is unset", () => {
    const missing = [...names].filter((name) => rowsOf(name).length === 0);
    expect(missing, "variables without a row").toEqual([]);
    const saysUnset = (row: Row) => Boolean(row.cells.get("default")) || /\bdefault\b|\bunset\b|\brequired\b/i.test(row.text);
    const silent = [...names].filter((name) => !rowsOf(name).some(saysUnset));
    expect(silent, "rows that do not say the default (or that it is required, or what unset means)").toEqual([]);
  });

  it("gives each integer variable the range and the default the code has", () => {
    const wrong: string[] = [];
    const all = intSpecs();
    for (const spec of all.filter((s, i) => all.findIndex((t) => t.name === s.name) === i)) {
      const specs = all.filter((s) => s.name === spec.name);
      const range = new RegExp(`\\b${bound(spec.min)}\\.\\.${bound(spec.max)}\\b`);
      const statesDefault = (row: Row) =>
        row.cells.has("default")
          ? specs.some((s) => (row.cells.get("default") ?? "").includes(`\`${s.default}\``))
          : specs.some((s) => new RegExp(`\\bdefault ${s.default}\\b`).test(row.text)) || /unset by default/.test(row.text);
      const documented = rowsOf(spec.name);
      if (!documented.some((row) => range.test(row.text))) wrong.push(`${spec.name}: no row gives the range ${spec.min}..${spec.max}`);
      if (!documented.some(statesDefault)) wrong.push(`${spec.name}: no row gives the default ${spec.default}`);
    }
    expect(wrong).toEqual([]);
  });

  it("lists every value a variable of fixed choices accepts", () => {
    const wrong: string[] = [];
    for (const [name, values] of oneOfValues()) {
      for (const value of values) {
        if (!rowsOf(name).some((row) => row.text.includes(`\`${value}\``))) wrong.push(`${name}: ${value}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("documents no variable the code does not read", () => {
    const documented = new Set(rows.flatMap((row) => row.names));
    const assigned = new Set([...DOC.matchAll(/`([A-Z][A-Z0-9_]{2,})=/g)].map((m) => m[1] as string));
    expect([...documented, ...assigned].filter((name) => !names.has(name))).toEqual([]);
  });
});
