import type { FanoutResult } from "./fanout.js";
import { findings, firstError, fixed, glanceRow, hubRatios, int, notClean, of, perSystem, ratioTarget, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

/** Issue 16: the hub's server CPU per delivery, at most this times plain Socket.IO's. */
const FANOUT_CPU_TARGET = 0.9;

function render({ results }: ScenarioReport<FanoutResult>, { params }: FanoutResult): string[] {
  const check = ({ contentCheck: c }: FanoutResult) =>
    c.ok
      ? `ok: ${c.clients} ${c.client} × ${int(c.events)} events`
      : `**${c.mismatches} mismatched, ${c.missing} missing, ${c.duplicates} duplicated, ${c.outOfOrder} out of order**`;
  const hub = of(results, "hub");
  return [
    `One topic, ${int(params.subscribers)} subscribers over 2 server processes, ${params.rate} events/s for ${params.seconds} s ` +
      `(after ${params.warmupSeconds} s of unmeasured warm-up), payload ~${params.payloadBytes} bytes. Latency is producer send time ` +
      "to client receipt on the same clock. CPU is the server processes' own user+system time over the measured window " +
      "(/proc/<pid>/stat), divided by deliveries; redis-server's is shown apart, per event. " +
      `Next to the wire clients, ${params.contentCheckers} real clients (socket.io-client for hub and plain, \`ws\` with full JSON ` +
      "parsing for raw) in their own process keep every message of the window whole; the content check compares each with what " +
      "the producer published: for the hub the whole envelope (the id the SDK returned, type, topic, org_id, data deep-equal to the " +
      "payload, ts between send and receipt, consecutive offsets, one epoch, no other field, and the same copy on every client), " +
      "for plain the event name and payload, for raw the frame; and that each client got every event once, in order.",
    "",
    ...table(
      "| system | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | losses | out of order | server CPU µs/delivery | redis CPU µs/event | client cores busy | other work cores | content check |",
      "| ------ | -----------: | -----: | -----: | -----: | -----: | -----: | -----------: | ---------------------: | -----------------: | ----------------: | ---------------: | ------------- |",
      results.map(
        (r) =>
          `| ${r.system} | ${int(r.deliveriesPerSecond)} | ${fixed(r.latencyMs.p50)} | ${fixed(r.latencyMs.p95)} | ${fixed(r.latencyMs.p99)} | ` +
          `${fixed(r.latencyMs.max)} | ${int(r.losses)} | ${int(r.outOfOrder)} | ${fixed(r.serverCpuMicrosPerDelivery)} | ` +
          `${fixed(r.redisCpuMicrosPerEvent, 0)} | ${fixed(r.clientCoresBusy)} | ${fixed(r.otherCores)} | ${check(r)} |`,
      ),
    ),
    ...results
      .filter((r) => !r.contentCheck.ok)
      .flatMap((r) => [`**${r.system}: content check failed.** ${r.contentCheck.problems.join("; ")}`, ""]),
    ...table(
      "| ratio | server CPU per delivery | p99 latency |",
      "| ----- | ----------------------: | ----------: |",
      hubRatios(results, (r) => [r.serverCpuMicrosPerDelivery, r.latencyMs.p99]),
    ),
    ...(hub ? targets(hub, of(results, "plain")) : []),
    ...results
      .filter((r) => r.losses !== 0 || r.connectFailures || r.publishFailures || r.outOfOrder || r.droppedConnections)
      .flatMap((r) =>
        notClean(
          r.system,
          `losses ${r.losses}, connect failures ${r.connectFailures}${firstError(r.connectError)}, publish failures ${r.publishFailures}, ` +
            `out of order ${r.outOfOrder}, dropped connections ${r.droppedConnections}`,
        ),
      ),
  ];
}

/** The hub's fanout targets, and how far apart two runs of one system land. */
function targets(hub: FanoutResult, plain: FanoutResult | undefined): string[] {
  const cpu = plain && hub.serverCpuMicrosPerDelivery / plain.serverCpuMicrosPerDelivery;
  return [
    ...(cpu === undefined
      ? []
      : [
          `Target "hub server CPU per delivery <= ${fixed(FANOUT_CPU_TARGET, 1)}x plain": **${cpu <= FANOUT_CPU_TARGET ? "met" : "missed"}** (${fixed(cpu)}x).` +
            (cpu <= FANOUT_CPU_TARGET ? "" : ` What profiling and repeated runs found: ${findings("fanout-server-cpu-per-delivery")}.`),
        ]),
    hub.losses === 0 ? 'Target "zero loss": **met**.' : `Target "zero loss": **missed** (${hub.losses} deliveries lost).`,
    'Target "p99 < 25 ms at half of the saturation rate": see [saturation](#saturation).',
    "",
    "One run per system, one after another on the same redis-server. Repeated development runs differed by a few per cent in " +
      "CPU per delivery, so a ratio within about 5% of 1.0 is not a measured difference.",
    "",
  ];
}

function glance({ results }: ScenarioReport<FanoutResult>): GlanceRow[] {
  const cpu = perSystem(results, (r) => r.serverCpuMicrosPerDelivery);
  const losses = of(results, "hub")?.losses;
  const check = (system: string) => {
    const c = of(results, system)?.contentCheck;
    return c ? (c.ok ? `ok (${int(c.checked)})` : `**${c.mismatches + c.missing + c.duplicates + c.outOfOrder} problems**`) : "n/a";
  };
  return [
    glanceRow("fanout", "server CPU µs/delivery", cpu, ratioTarget(cpu[0], cpu[1], "most", FANOUT_CPU_TARGET)),
    glanceRow(
      "fanout",
      "losses",
      perSystem(results, (r) => r.losses),
      losses === undefined ? "0" : `0: **${losses === 0 ? "met" : "missed"}**`,
      int,
    ),
    ["fanout", "content check", check("hub"), check("plain"), check("raw"), "", "", "every field as published"],
  ];
}

/** One topic, many subscribers: deliveries, latency, CPU per delivery and a content check of each system. */
export const fanout: Scenario<FanoutResult> = { name: "fanout", render, glance };
