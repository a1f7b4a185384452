import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type GatewayProcess, type HubProcess, REPO_ROOT, type RedisServer, startGateway, startRedis, startWorker } from "@hub/devkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * The monitoring files in infra/ against the code: the Prometheus config and alert rules pass
 * `promtool` (check config, check rules, and the unit tests of alerts.test.yml), and every metric
 * that a dashboard panel or an alert names is one a real gateway or queue-worker exports, scraped
 * from their /metrics. Alerts carry what an on-call needs (for, severity, summary, description, a
 * runbook anchor that exists) and infra/README.md lists them as they are.
 */

const PROMETHEUS_DIR = join(REPO_ROOT, "infra/prometheus");
const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface PromtoolCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}
interface Panel {
  type: string;
  title: string;
  id: number;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

const rules = (parse(read("infra/prometheus/alerts.yml")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read("infra/grafana/hub-dashboard.json")) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query: unknown }> };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
const scrapeJobs = (parse(read("infra/prometheus/prometheus.yml")) as { scrape_configs: Array<{ job_name: string }> }).scrape_configs.map(
  (c) => c.job_name,
);

/** Runs promtool in infra/prometheus; resolves with its exit code and everything it printed. */
function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("promtool", args, { cwd: PROMETHEUS_DIR }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

// Words of PromQL that are not metrics: clauses, set operators, modifiers.
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "group_left", "group_right"]);

/** The metric names a PromQL expression reads: what is left once strings, matchers, ranges, grouping clauses and calls are taken out. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = new Set<string>();
  for (const [, name, call] of bare.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    if (call === undefined && !KEYWORDS.has(name as string)) names.add(name as string);
  }
  return [...names];
}

/** GitHub's anchor of a Markdown heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

/** The anchors of a Markdown file's headings (code blocks skipped). */
function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of read(path).split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (heading) anchors.add(slug(heading[1] as string));
  }
  return anchors;
}

describe("metricNames", () => {
  it("finds the metrics of an expression, not its functions, labels, ranges or variables", () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (kind, le) (rate(hub_a_bucket{job="$gateway_job", instance=~"$instance"}[$__rate_interval]))) > 2',
      ),
    ).toEqual(["hub_a_bucket"]);
    expect(metricNames("sum(rate(hub_b_total[5m])) / sum without (x) (rate(hub_c_total[5m] offset 1h)) > 1e3")).toEqual([
      "hub_b_total",
      "hub_c_total",
    ]);
    expect(metricNames('absent(up{job="hub-worker"}) or on (instance) group_left hub_d == bool 0')).toEqual(["up", "hub_d"]);
  });
});

describe("infra/prometheus checked with promtool", () => {
  it("prometheus.yml is a valid config that loads the alert rules", async () => {
    const { code, output } = await promtool("check", "config", "prometheus.yml");
    expect(output).toContain("SUCCESS: 1 rule files found");
    expect(code).toBe(0);
  });

  it("alerts.yml is a valid rule file", async () => {
    const { code, output } = await promtool("check", "rules", "alerts.yml");
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(code).toBe(0);
  });

  it("the alerts fire on broken series, after their for:, and stay quiet on healthy ones (alerts.test.yml)", async () => {
    const { code, output } = await promtool("test", "rules", "alerts.test.yml");
    expect(output).toContain("SUCCESS");
    expect(code).toBe(0);
  });

  it("alerts.test.yml makes every alert fire somewhere, not at once, and keeps every one quiet on the healthy series", () => {
    const tests = (parse(read("infra/prometheus/alerts.test.yml")) as { tests: Array<{ name: string; alert_rule_test: PromtoolCase[] }> })
      .tests;
    const cases = tests.flatMap((t) => t.alert_rule_test);
    const names = rules.map((r) => r.alert).sort();
    const fired = new Set(cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
    const quietWhenHealthy = new Set(
      tests
        .find((t) => t.name === "healthy")
        ?.alert_rule_test.filter((c) => (c.exp_alerts ?? []).length === 0)
        .map((c) => c.alertname),
    );
    expect(names.filter((n) => !fired.has(n))).toEqual([]);
    expect(names.filter((n) => !quietWhenHealthy.has(n))).toEqual([]);
    // Each firing case has a quiet one earlier in its test: the alert waits for its `for:`.
    const minutes = (time: string) => Number(/^(\d+)m$/.exec(time)?.[1]);
    for (const test of tests) {
      for (const firing of test.alert_rule_test.filter((c) => (c.exp_alerts ?? []).length > 0)) {
        const before = test.alert_rule_test.filter(
          (c) => c.alertname === firing.alertname && (c.exp_alerts ?? []).length === 0 && minutes(c.eval_time) < minutes(firing.eval_time),
        );
        expect(before.length, `${test.name}: ${firing.alertname} at ${firing.eval_time}`).toBeGreaterThan(0);
      }
    }
  });
});

describe("dashboard and alert rules against the metrics the hub exports", () => {
  let redis: RedisServer;
  let gateway: GatewayProcess;
  let worker: HubProcess;
  /** Every series name the two processes export (histograms as their _bucket, _sum and _count). */
  const exported = new Set<string>();
  /** The families the hub defines itself (prom-client's default process metrics left out). */
  const ownFamilies = new Set<string>();

  beforeAll(async () => {
    redis = await startRedis();
    [gateway, worker] = await Promise.all([startGateway({ REDIS_URL: redis.url }), startWorker({ REDIS_URL: redis.url })]);
    const started = await worker.waitForLog((l) => l.msg === "queue-worker started");
    for (const url of [`${gateway.url}/metrics`, `http://127.0.0.1:${started.metrics_port as number}/metrics`]) {
      const text = await (await fetch(url)).text();
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        const family = name as string;
        const suffixes = type === "histogram" ? ["_bucket", "_sum", "_count"] : type === "summary" ? ["", "_sum", "_count"] : [""];
        for (const suffix of suffixes) exported.add(`${family}${suffix}`);
        if (!/^hub_(process|nodejs)_/.test(family)) ownFamilies.add(family);
      }
    }
  });

  afterAll(async () => {
    await Promise.allSettled([gateway?.stop(), worker?.stop()]);
    await redis?.stop();
  });

  it("scrapes the gateway's and the worker's own families", () => {
    expect(ownFamilies).toContain("hub_connections");
    expect(ownFamilies).toContain("hub_queue_leases_lost_total");
    expect(exported).toContain("hub_entity_deadline_lateness_seconds_bucket");
  });

  it("every panel's PromQL reads metrics that exist", () => {
    const unknown: string[] = [];
    for (const panel of panels) {
      const names = (panel.targets ?? []).flatMap((t) => metricNames(t.expr));
      expect(names.length, `panel "${panel.title}" reads no metric`).toBeGreaterThan(0);
      for (const name of names) if (!exported.has(name)) unknown.push(`${panel.title}: ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it("every family the gateway and the worker define has a panel", () => {
    const shown = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))));
    const missing = [...ownFamilies].filter((f) => !shown.has(f) && !shown.has(`${f}_bucket`));
    expect(missing).toEqual([]);
  });

  it("the dashboard's panel ids are unique and its job variables name scrape jobs", () => {
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const jobs = dashboard.templating.list.filter((v) => v.name.endsWith("_job")).map((v) => v.query);
    expect(jobs.sort()).toEqual([...scrapeJobs].sort());
  });

  it("every alert reads metrics that exist, of the scrape config's jobs", () => {
    const unknown: string[] = [];
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) if (name !== "up" && !exported.has(name)) unknown.push(`${rule.alert}: ${name}`);
      for (const [, job] of rule.expr.matchAll(/\bjob="([^"]*)"/g)) expect(scrapeJobs, rule.alert).toContain(job);
    }
    expect(unknown).toEqual([]);
  });
});

describe("alert rules for an on-call", () => {
  it("every alert has a for:, a severity, a summary, a description and a runbook anchor that exists", () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(["critical", "warning", "info"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      const runbook = /^(docs\/(?:troubleshooting|operations)\.md)#(.+)$/.exec(rule.annotations?.runbook_url ?? "");
      expect(runbook, `${rule.alert}: runbook_url`).not.toBeNull();
      expect(anchorsOf(runbook?.[1] as string), `${rule.alert}: ${rule.annotations?.runbook_url}`).toContain(runbook?.[2]);
    }
  });

  it("infra/README.md lists every alert with its severity, for: and runbook", () => {
    const readme = read("infra/README.md");
    const section = readme.slice(readme.indexOf("### Alerts"));
    const table = section.slice(0, section.indexOf("\n#") === -1 ? undefined : section.indexOf("\n#"));
    const rows = [...table.matchAll(/^\| `(Hub\w+)` +\| (\w+) +\| (\w+) +\|.*\| \[[^\]]*\]\(\.\.\/([^)]+)\) *\|$/gm)].map(
      ([, alert, severity, wait, runbook]) => ({ alert, severity, for: wait, runbook }),
    );
    expect(rows).toEqual(
      rules.map((r) => ({ alert: r.alert, severity: r.labels?.severity, for: r.for, runbook: r.annotations?.runbook_url })),
    );
  });
});
