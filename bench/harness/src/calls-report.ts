import { type CallsResult, type EventTally, PLAIN_MAX_PAIRS, type ServerLateness } from "./calls.js";
import type { LatencySummary } from "./latency-histogram.js";
import { findings, firstError, fixed, glanceRow, hubRatios, int, notClean, of, perSystem, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

/** The targets: the answer round trip's p99, and how late the ring timeout fires (p99). */
const ANSWER_P99_TARGET_MS = 20;
const LATENESS_P99_TARGET_MS = 100;

/** results/calls.json: the results and how busy other work kept the machine meanwhile. */
export interface CallsReport extends ScenarioReport<CallsResult> {
  otherCores?: number;
}

const p50p99 = (l: LatencySummary) => `${fixed(l.p50)} / ${fixed(l.p99)}`;

function render({ results, mode, otherCores }: CallsReport, { params }: CallsResult): string[] {
  const hub = of(results, "hub");
  return [
    `Two phases per system (${mode} mode), each on freshly started servers and an empty Redis. **Answered**: ${int(params.calls)} ` +
      `caller/callee pairs, callers \`c<i>\` on the hub's gateway 1 and callees \`e<i>\` on gateway 2 (one redis-server), each ` +
      "connected once and subscribed to its own `webrtc:<user>` topic; every caller sends `call:initiate` " +
      `(${params.callRate} per second over all pairs), the callee answers on \`call:incoming\`, each party sends ` +
      `${params.candidates} \`webrtc:ice-candidate\` requests (acknowledged) once it got \`call:answered\`, and the calls stay up ` +
      `until all ${int(params.calls)} are set up; then every caller sends \`call:end\` at the same rate. **Ring**: ` +
      `${int(params.ringing)} more pairs, \`CALL_RING_TIMEOUT_MS=${params.ringTimeoutMs}\`, ${params.ringRate} initiates per ` +
      "second, nobody answers. Plain: [servers/plain-call-server.ts](../harness/src/servers/plain-call-server.ts), one " +
      "Socket.IO process with the calls in an in-memory map (so callers and callees on the same process, no Redis), relaying " +
      "the same events with a `setTimeout` per ringing call: the reference round trip. Caller and callee of a pair are in " +
      `the same client process (${params.pairsPerProcess} pairs at most per process), so every step is timed on one clock. ` +
      `Plain runs at most ${int(PLAIN_MAX_PAIRS)} pairs per phase (2 open files each in its one process; the open-file limit here is 20,000).`,
    "",
    "**Steps**: initiate ack = `call:initiate` sent to its ack; incoming = `call:initiate` sent to the callee's `call:incoming`; " +
      "answer round trip = `call:answer` sent to the caller's `call:answered`; ICE relay = a candidate's send time (in the " +
      "candidate) to its receipt by the other party; end round trip = `call:end` sent to the caller's `call:ended`. " +
      "**Lateness** = the callee's `call:missed` minus (the initiate's send time + the ring timeout); the gateways' own " +
      "`hub_entity_deadline_lateness_seconds` (commit time minus the deadline) is shown next to it. **CPU per call** = the " +
      "server processes' and redis-server's user+system time from the first initiate to the last event waited for, over the " +
      `calls; "net" subtracts their rate over ${params.idleSeconds} s with every pair connected and nothing sent (for the hub ` +
      "mostly the entity sweepers' polling); set-up and tear-down split the answered phase at the moment the last call was " +
      "set up; calls per core-second = 10^6 / the net figure, what one core of servers and Redis together would carry " +
      "(calls/s itself is the paced initiate rate the phase was run at). **Lost / duplicated** count, per party and event, arrivals short of or beyond what each call should produce " +
      "(`call:incoming` 1, `call:answered` 1 each, candidates " +
      `${params.candidates} each, \`call:ended\` 1 each; ring: \`call:incoming\` 1, \`call:missed\` 1 each); any other event is "unexpected".`,
    "",
    ...table(
      "| system | calls set up / ended | calls/s | initiate ack p50 / p99 ms | incoming p50 / p99 | answer round trip p50 / p99 | ICE relay p50 / p99 | end round trip p50 / p99 | CPU µs per call | net of idle | calls per core-second (net) | set-up / tear-down (net) | servers / redis µs per call | lost | duplicated | refused | unexpected |",
      "| ------ | -------------------: | ------: | ------------------------: | -----------------: | --------------------------: | ------------------: | -----------------------: | --------------: | ----------: | --------------------------: | -----------------------: | --------------------------: | ---: | ---------: | ------: | ---------: |",
      results.map(({ system, answered: a }) => {
        const servers = a.serverCpuMicros.reduce((n, c) => n + c, 0) / a.connected;
        return (
          `| ${system} | ${int(a.established)} / ${int(a.ended)} of ${int(a.connected)} | ${fixed(a.callsPerSecond, 1)} | ` +
          `${p50p99(a.initiateAckMs)} | ${p50p99(a.incomingMs)} | ${p50p99(a.answerRoundTripMs)} | ${p50p99(a.iceRelayMs)} | ` +
          `${p50p99(a.endRoundTripMs)} | ${int(a.cpuMicrosPerCall)} | ${int(a.netCpuMicrosPerCall)} | ${int(1e6 / a.netCpuMicrosPerCall)} | ` +
          `${int(a.setupCpuMicrosPerCall)} / ${int(a.teardownCpuMicrosPerCall)} | ${int(servers)} / ${int(a.redisCpuMicros / a.connected)} | ` +
          `${int(a.lost)} | ${int(a.duplicated)} | ${int(a.refused)} | ${unexpected(a)} |`
        );
      }),
    ),
    ...table(
      "| system | missed at both parties | lateness p50 ms | p95 | p99 | max | gateways' deadline lateness | incoming p50 / p99 ms | CPU µs per call | net of idle | lost | duplicated | refused | unexpected |",
      "| ------ | ---------------------: | --------------: | --: | --: | --: | --------------------------- | --------------------: | --------------: | ----------: | ---: | ---------: | ------: | ---------: |",
      results.map(({ system, ring: r }) => {
        const l = r.latenessMs;
        return (
          `| ${system} | ${int(r.missed)} of ${int(r.connected)} | ${fixed(l.p50)} | ${fixed(l.p95)} | ${fixed(l.p99)} | ${fixed(l.max)} | ` +
          `${serverLateness(r.serverLateness)} | ${p50p99(r.incomingMs)} | ${int(r.cpuMicrosPerCall)} | ${int(r.netCpuMicrosPerCall)} | ` +
          `${int(r.lost)} | ${int(r.duplicated)} | ${int(r.refused)} | ${unexpected(r)} |`
        );
      }),
    ),
    ...table(
      "| ratio | answer round trip p99 | ICE relay p99 | CPU per answered call (net) | lateness p99 | CPU per missed call (net) |",
      "| ----- | --------------------: | ------------: | --------------------------: | -----------: | ------------------------: |",
      hubRatios(results, (r) => [
        r.answered.answerRoundTripMs.p99,
        r.answered.iceRelayMs.p99,
        r.answered.netCpuMicrosPerCall,
        r.ring.latenessMs.p99,
        r.ring.netCpuMicrosPerCall,
      ]),
    ),
    ...(otherCores === undefined
      ? []
      : [
          `Other processes on the machine (not this run's) kept ${fixed(otherCores)} cores busy on average during the scenario` +
            (otherCores > 0.2 ? ": **latency here is inflated by other work**; the CPU figures count each process's own time." : "."),
          "",
        ]),
    ...(hub ? targets(hub) : []),
    ...results.flatMap(({ system, answered, ring }) =>
      [
        ["answered", answered],
        ["ring", ring],
      ].flatMap(([phase, p]) => {
        const t = p as EventTally & { connectFailures: number; connectError?: string };
        return t.lost + t.duplicated + t.refused + t.connectFailures + Object.keys(t.unexpected).length === 0
          ? []
          : notClean(
              `${system} (${phase})`,
              `lost ${t.lost}, duplicated ${t.duplicated}, refused ${t.refused}${firstError(t.firstRefusal)}, unexpected ` +
                `${unexpected(t)}, connect failures ${t.connectFailures}${firstError(t.connectError)}`,
            );
      }),
    ),
  ];
}

function unexpected(t: EventTally): string {
  const entries = Object.entries(t.unexpected);
  return entries.length ? entries.map(([k, n]) => `${k}: ${n}`).join(", ") : "0";
}

/** The gateways' histogram as "mean X ms; N <= 50 ms, M <= 100 ms of T". */
function serverLateness(s: ServerLateness | undefined): string {
  if (!s || s.count === 0) return "n/a";
  const within = (le: string) => s.buckets.find((b) => b.le === le)?.count;
  const share = (le: string) => {
    const n = within(le);
    return n === undefined ? "" : `, ${fixed((n / s.count) * 100, 1)}% <= ${Number(le) * 1000} ms`;
  };
  return `mean ${fixed((s.sumSeconds / s.count) * 1000, 1)} ms${share("0.05")}${share("0.1")} (${int(s.count)} deadlines)`;
}

function targets(hub: CallsResult): string[] {
  const answer = hub.answered.answerRoundTripMs.p99;
  const late = hub.ring.latenessMs.p99;
  const missed = answer >= ANSWER_P99_TARGET_MS || late >= LATENESS_P99_TARGET_MS;
  const by = (value: number, target: number) => (value < target ? "" : `, ${fixed(value / target)}x the target`);
  return [
    `Target "answer round trip p99 < ${ANSWER_P99_TARGET_MS} ms": **${answer < ANSWER_P99_TARGET_MS ? "met" : "missed"}** ` +
      `(${fixed(answer)} ms${by(answer, ANSWER_P99_TARGET_MS)}).`,
    `Target "ring timeout lateness p99 < ${LATENESS_P99_TARGET_MS} ms": **${late < LATENESS_P99_TARGET_MS ? "met" : "missed"}** ` +
      `(${fixed(late)} ms${by(late, LATENESS_P99_TARGET_MS)}).`,
    `${missed ? "Why, and what" : "What"} the hub spends a call's time on (and how the figures moved from run to run on this shared machine): ` +
      `${findings("calls-where-a-calls-time-goes")}.`,
    "",
  ];
}

function glance({ results }: CallsReport): GlanceRow[] {
  const answer = of(results, "hub")?.answered.answerRoundTripMs.p99;
  const late = of(results, "hub")?.ring.latenessMs.p99;
  return [
    glanceRow(
      "calls",
      "answer round trip p99 ms (call:answer to the caller's call:answered)",
      perSystem(results, (r) => r.answered.answerRoundTripMs.p99),
      answer === undefined
        ? `< ${ANSWER_P99_TARGET_MS} ms`
        : `< ${ANSWER_P99_TARGET_MS} ms: **${answer < ANSWER_P99_TARGET_MS ? "met" : "missed"}**`,
    ),
    glanceRow(
      "calls",
      "ring timeout lateness p99 ms (call:missed at the callee)",
      perSystem(results, (r) => r.ring.latenessMs.p99),
      late === undefined
        ? `< ${LATENESS_P99_TARGET_MS} ms`
        : `< ${LATENESS_P99_TARGET_MS} ms: **${late < LATENESS_P99_TARGET_MS ? "met" : "missed"}**`,
    ),
    glanceRow(
      "calls",
      "server + redis CPU µs per answered call, net of idle",
      perSystem(results, (r) => r.answered.netCpuMicrosPerCall),
      "",
      (n) => fixed(n, 0),
    ),
  ];
}

/** 1-to-1 calls across two gateways: each step's latency, the ring timeout's lateness and the CPU per call, against a plain relay. */
export const calls: Scenario<CallsResult, CallsReport> = { name: "calls", render, glance };
