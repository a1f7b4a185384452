import { findings, fixed, glanceRow, hubRatios, int, of, perSystem, ratioTarget, table } from "./report-format.js";
import type { SaturationResult, SaturationStep } from "./saturation.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

/** The fanout scenario's latency target, read at half of the saturation rate. */
const FANOUT_P99_TARGET_MS = 25;

/** Issue 16: deliveries per gateway core at one rate, at least this times plain Socket.IO's. */
const PER_CORE_TARGET = 1.5;

/** A step that held at `rate` (within 2%): per-core efficiency rises with load, so systems are compared at one rate. */
const heldAt = (r: SaturationResult | undefined, rate: number | undefined) =>
  rate === undefined ? undefined : r?.steps.find((s) => s.sustained && Math.abs(s.rate - rate) / rate < 0.02);

function render({ mode, results }: ScenarioReport<SaturationResult>, first: SaturationResult): string[] {
  const { params } = first;
  const hub = of(results, "hub");
  const rate = hub?.highestSustained?.rate;
  return [
    `The fanout set-up (one topic, ${int(first.subscribers)} subscribers over ${first.serverProcesses} server processes), ` +
      (params.setup
        ? "in a pass of its own (step 0 is that pass's fanout window)"
        : "going on with the fanout scenario's connections after its window (step 0)") +
      `: each step runs ${params.stepSeconds} s at ${fixed(params.growth, 3)}× ` +
      `the previous step's rate (so half of any step's rate is two steps back), until a step's p99 exceeds ${params.p99LimitMs} ms, ` +
      `deliveries are not made within ${params.drainMs / 1000} s of its last publish, a connection drops, or the producer cannot keep ` +
      `the rate; at most ${params.maxSteps} steps. A step that does not hold is run once more after the backlog drained ` +
      "(against one-off noise); the ramp stops when it fails twice. The highest step that held is the saturation rate. " +
      (mode === "quick"
        ? "Quick mode's steps are short (2 s) to keep the whole run under 3 minutes; full mode's are 4 s. "
        : "Full mode runs the ramp in a pass of its own from the quick set-up (2,000 subscribers, 20 events/s), with 4 s steps: with " +
          "the fanout scenario's 20,000 subscribers one event's burst already takes longer than 250 ms to reach every client on " +
          "this 2-core machine (see the fanout p99), whatever the rate, so the ramp's criterion cannot be applied there. ") +
      "Clients, producer, redis-server and servers share the machine's cores, so the ramp stops where the machine saturates, " +
      'which is not necessarily where a gateway would alone: "deliveries/s per gateway core" divides deliveries by the server ' +
      "processes' own CPU-seconds at the highest sustained step (what one fully busy gateway core would deliver at that efficiency).",
    "",
    "| system | highest sustained events/s | deliveries/s | p99 ms there | gateway cores busy | deliveries/s per gateway core | client cores busy | stopped by |",
    "| ------ | -------------------------: | -----------: | -----------: | -----------------: | ----------------------------: | ----------------: | ---------- |",
    ...results.map(({ system, highestSustained: s, stoppedBy }) =>
      s
        ? `| ${system} | ${fixed(s.rate, 1)} | ${int(s.deliveriesPerSecond)} | ${fixed(s.latencyMs.p99)} | ${fixed(s.serverCoresBusy)} | ` +
          `${int(s.deliveriesPerServerCpuSecond)} | ${fixed(s.clientCoresBusy)} | ${stoppedBy} |`
        : `| ${system} | none | n/a | n/a | n/a | n/a | n/a | ${stoppedBy} |`,
    ),
    "",
    ...(rate === undefined ? [] : saturationRatios(results, rate)),
    "Every step (step 0 is the fanout window):",
    "",
    "| system | step | events/s | deliveries/s | p50 ms | p99 ms | max ms | not delivered | gateway cores busy | redis cores busy | client cores busy | other work cores | held |",
    "| ------ | ---: | -------: | -----------: | -----: | -----: | -----: | ------------: | -----------------: | ---------------: | ----------------: | ---------------: | ---- |",
    ...results.flatMap((r) =>
      r.steps.map(
        (s) =>
          `| ${r.system} | ${s.kind === "half" ? "half" : s.attempt > 1 ? `${s.index} (again)` : s.index} | ${fixed(s.rate, 1)} | ` +
          `${int(s.deliveriesPerSecond)} | ${fixed(s.latencyMs.p50)} | ${fixed(s.latencyMs.p99)} | ${fixed(s.latencyMs.max)} | ${int(s.losses)} | ` +
          `${fixed(s.serverCoresBusy)} | ${fixed(s.redisCoresBusy)} | ${fixed(s.clientCoresBusy)} | ${fixed(s.otherCores)} | ` +
          `${s.sustained ? "yes" : `no: ${s.failure}`} |`,
      ),
    ),
    "",
    ...(hub ? [halfRateTarget(results, hub), ""] : []),
  ];
}

/** The hub against each baseline, at their own saturation rates and at the hub's. */
function saturationRatios(results: SaturationResult[], rate: number): string[] {
  return [
    ...table(
      `| ratio | highest sustained deliveries/s | deliveries/s per gateway core there | deliveries/s per gateway core at ${fixed(rate, 1)} events/s |`,
      "| ----- | -----------------------------: | ----------------------------------: | ---------------------------------------: |",
      hubRatios(results, (r) => [
        r.highestSustained?.deliveriesPerSecond,
        r.highestSustained?.deliveriesPerServerCpuSecond,
        heldAt(r, rate)?.deliveriesPerServerCpuSecond,
      ]),
    ),
    "Deliveries per gateway core rise with load (more sockets written per wake-up), so the last column compares the systems " +
      "at one rate, the hub's saturation rate.",
    "",
  ];
}

/** The fanout's latency target at half of the hub's saturation rate, and why it was missed if it was. */
function halfRateTarget(results: SaturationResult[], hub: SaturationResult): string {
  const target = `Target "p99 < ${FANOUT_P99_TARGET_MS} ms at half of the saturation rate"`;
  const h = hub.half;
  if (!h || !hub.highestSustained) return `${target}: not evaluated (${hub.stoppedBy}).`;
  const met = h.latencyMs.p99 < FANOUT_P99_TARGET_MS;
  return (
    `${target}: **${met ? "met" : "missed"}** (hub p99 ${fixed(h.latencyMs.p99)} ms at ${fixed(h.rate, 1)} events/s, ` +
    `half of ${fixed(hub.highestSustained.rate, 1)}; ` +
    `${h.kind === "fanout" ? "the fanout window" : h.kind === "half" ? "a step run at that rate after the ramp" : "a ramp step"}).` +
    (met ? "" : ` ${halfRateCause(results, h)}`)
  );
}

/** Why the hub missed the half-rate latency target, from the baselines' steps at the same rate in this run. */
function halfRateCause(results: SaturationResult[], half: SaturationStep): string {
  const at = (system: string) => of(results, system)?.steps.find((s) => Math.abs(s.rate - half.rate) / half.rate < 0.02);
  const others = ["plain", "raw"].flatMap((name) => {
    const step = at(name);
    return step ? [{ name, p99: step.latencyMs.p99 }] : [];
  });
  const compared = others.map((o) => `${o.name} ${fixed(o.p99)} ms`).join(", ");
  const baselinesMiss = others.length > 0 && others.every((o) => o.p99 >= FANOUT_P99_TARGET_MS);
  return [
    compared ? `At the same rate in this run the baselines' p99 was ${compared}.` : "No baseline ran a step at that rate.",
    `Other processes kept ${fixed(half.otherCores)} cores busy during the hub's step.`,
    baselinesMiss
      ? "A baseline misses too: the shared machine (clients, servers, redis-server and producer on 2 cores) sets this latency, not the hub."
      : `The hub's tail grows before plain's: what the CPU profiles showed, ${findings("saturation-the-hubs-tail-at-half-the-saturation-rate")}.`,
  ].join(" ");
}

function glance({ results }: ScenarioReport<SaturationResult>): GlanceRow[] {
  const rate = of(results, "hub")?.highestSustained?.rate;
  const half = perSystem(results, (r) => r.half?.latencyMs.p99);
  const hubHalf = half[0];
  const perCore = perSystem(results, (r) => heldAt(r, rate)?.deliveriesPerServerCpuSecond);
  return [
    glanceRow(
      "saturation",
      "highest sustained deliveries/s",
      perSystem(results, (r) => r.highestSustained?.deliveriesPerSecond),
      "",
      int,
    ),
    glanceRow(
      "saturation",
      `deliveries/s per gateway core at ${rate === undefined ? "the hub's saturation rate" : `${fixed(rate, 1)} events/s`}`,
      perCore,
      ratioTarget(perCore[0], perCore[1], "least", PER_CORE_TARGET),
      int,
    ),
    glanceRow(
      "fanout",
      "p99 ms at half the saturation rate",
      half,
      `< ${FANOUT_P99_TARGET_MS} ms: ${hubHalf === undefined ? "not evaluated" : `**${hubHalf < FANOUT_P99_TARGET_MS ? "met" : "missed"}**`}`,
    ),
  ];
}

/** The fanout set-up at rising rates until a step does not hold: the highest sustained rate and the fanout's half-rate latency. */
export const saturation: Scenario<SaturationResult> = { name: "saturation", render, glance };
