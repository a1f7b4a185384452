// Formatting shared by the sections of results/README.md.
import type { GlanceRow } from "./scenario-report.js";

/** With `digits` decimals; "n/a" for NaN and infinities (a figure divided by one that is 0). */
export const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
export const int = (n: number) => Math.round(n).toLocaleString("en-US");
export const mb = (bytes: number) => fixed(bytes / 1024 / 1024, 1);
export const kb = (bytes: number) => fixed(bytes / 1024);

/** a over b as "1.23x"; "n/a" where either is missing or the quotient is not finite. */
export function ratio(a: number | undefined, b: number | undefined): string {
  const q = a === undefined || b === undefined ? Number.NaN : a / b;
  return Number.isFinite(q) ? `${fixed(q)}x` : "n/a";
}

/** A row of a markdown table. */
export const row = (cells: readonly (string | number)[]) => `| ${cells.join(" | ")} |`;

/** The result of one system, if it ran. */
export const of = <R extends { system: string }>(results: readonly R[], system: string) => results.find((r) => r.system === system);

/** A markdown table and the blank line after it; nothing when it has no rows. */
export const table = (heading: string, rule: string, rows: string[]) => (rows.length ? [heading, rule, ...rows, ""] : []);

/** The rows of a ratio table: the hub's `figures` over those of each baseline that ran, in the results' order. */
export function hubRatios<R extends { system: string }>(results: readonly R[], figures: (r: R) => (number | undefined)[]): string[] {
  const hub = of(results, "hub");
  if (!hub) return [];
  const ours = figures(hub);
  return results.filter((r) => r !== hub).map((base) => row([`hub/${base.system}`, ...figures(base).map((f, i) => ratio(ours[i], f))]));
}

/** The warning under a table for a system whose run lost something or failed. */
export const notClean = (who: string, what: string) => [`**${who}: not clean.** ${what}.`, ""];

/** " (error)" after a count of failed connections, when the run kept the first error. */
export const firstError = (error: string | undefined) => (error ? ` (${error})` : "");

/** A link to a section of bench/README.md's findings: prose about one day's runs lives there, not in the generated file. */
export const findings = (anchor: string) => `[bench/README.md](../README.md#${anchor})`;

/** One figure of each system for the glance table: hub, plain and raw, undefined where it did not run or has none. */
export function perSystem<R extends { system: string }>(results: readonly R[], figure: (r: R) => number | undefined) {
  return ["hub", "plain", "raw"].map((system) => {
    const r = of(results, system);
    return r && figure(r);
  });
}

/** A glance row from the hub's, plain's and raw's figure, and the ratios between them. */
/**
 * A ratio target's cell: `<= 0.9x plain: **met**` (`at: "most"`) or `>= 1.5x plain: **missed**`
 * (`at: "least"`); the bare target when a figure is missing.
 */
export function ratioTarget(
  hub: number | undefined,
  baseline: number | undefined,
  at: "most" | "least",
  limit: number,
  name = "plain",
): string {
  const label = `${at === "most" ? "<=" : ">="} ${fixed(limit, 1)}x ${name}`;
  const ratio = (hub ?? Number.NaN) / (baseline ?? Number.NaN);
  if (!Number.isFinite(ratio)) return label;
  return `${label}: **${(at === "most" ? ratio <= limit : ratio >= limit) ? "met" : "missed"}**`;
}

export function glanceRow(
  scenario: string,
  figure: string,
  [hub, plain, raw]: (number | undefined)[],
  target = "",
  format: (n: number) => string = fixed,
): GlanceRow {
  const show = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "n/a" : format(n));
  return [scenario, figure, show(hub), show(plain), show(raw), ratio(hub, plain), ratio(hub, raw), target];
}
