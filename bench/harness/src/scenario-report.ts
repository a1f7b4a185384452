import type { Machine } from "./machine.js";

/** One scenario's results from one run, as `results/<scenario>.json` holds them. */
export interface ScenarioReport<R> {
  scenario: string;
  mode: "quick" | "full";
  machine: Machine;
  results: R[];
}

/** A row of the "At a glance" table: scenario, figure, hub, plain, raw, hub/plain, hub/raw, target. */
export type GlanceRow = string[];

/**
 * How results/README.md shows one scenario. report.ts writes the `## name` heading and calls these
 * only with a report that has results; methods, not function properties, so that the registry can
 * hold every scenario's entry as one type (each reads its own JSON file, unchecked).
 */
export interface Scenario<R, Report extends ScenarioReport<R> = ScenarioReport<R>> {
  /** The section's heading and the results file's name. */
  name: string;
  /** The section under the heading; `first` is the report's first result, whose parameters every system ran with. */
  render(report: Report, first: R): string[];
  /** The scenario's headline figures in the glance table. */
  glance(report: Report): GlanceRow[];
}
