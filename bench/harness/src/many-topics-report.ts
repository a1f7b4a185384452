import type { ManyTopicsResult } from "./many-topics.js";
import { firstError, fixed, glanceRow, hubRatios, int, notClean, perSystem, ratioTarget, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

function render({ results }: ScenarioReport<ManyTopicsResult>, { params }: ManyTopicsResult): string[] {
  return [
    `${int(params.users)} users, each connected once and subscribed to their own \`notifications:{user_id}\` topic, spread over ` +
      `${params.nodes} server processes; a producer sends ${params.rate} events/s for ${params.seconds} s (after ${params.warmupSeconds} s ` +
      "unmeasured), each to one user picked at random (hub: `notification.created` with `user_id` through the emitter SDK; plain: " +
      "`@socket.io/redis-emitter` to the user's room). Raw is not run: it has no topics. Node CPU is each server process's own time " +
      "over the window per published event; with a classic Redis adapter every node receives and decodes every broadcast. " +
      `Holding the connections costs CPU too (pings, timers): each node's rate over ${params.idleSeconds} s with nothing published ` +
      'is measured first and subtracted in "net all nodes µs/event".',
    "",
    ...table(
      "| system | events/s | p50 ms | p95 ms | p99 ms | max ms | losses | node CPU µs/event (each node) | idle node CPU ms/s (each node) | net all nodes µs/event | redis CPU µs/event | client cores busy |",
      "| ------ | -------: | -----: | -----: | -----: | -----: | -----: | ----------------------------: | -----------------------------: | ---------------------: | -----------------: | ----------------: |",
      results.map(
        (r) =>
          `| ${r.system} | ${int(r.eventsPerSecond)} | ${fixed(r.latencyMs.p50)} | ${fixed(r.latencyMs.p95)} | ${fixed(r.latencyMs.p99)} | ` +
          `${fixed(r.latencyMs.max)} | ${int(r.losses)} | ${r.nodeCpuMicrosPerEvent.map((c) => fixed(c, 1)).join(" / ")} | ` +
          `${r.nodeIdleCpuMicrosPerSecond.map((c) => fixed(c / 1000, 1)).join(" / ")} | ${fixed(r.netCpuMicrosPerEvent, 1)} | ` +
          `${fixed(r.redisCpuMicrosPerEvent, 1)} | ${fixed(r.clientCoresBusy)} |`,
      ),
    ),
    ...table(
      "| ratio | net all nodes CPU per event | p99 latency |",
      "| ----- | --------------------------: | ----------: |",
      hubRatios(results, (r) => [r.netCpuMicrosPerEvent, r.latencyMs.p99]),
    ),
    ...results
      .filter((r) => r.losses !== 0 || r.connectFailures !== 0 || r.publishFailures !== 0)
      .flatMap((r) =>
        notClean(
          r.system,
          `losses ${r.losses}, connect failures ${r.connectFailures}${firstError(r.connectError)}, publish failures ${r.publishFailures}`,
        ),
      ),
  ];
}

function glance({ results }: ScenarioReport<ManyTopicsResult>): GlanceRow[] {
  const net = perSystem(results, (r) => r.netCpuMicrosPerEvent);
  return [
    glanceRow("many-topics", "all nodes' CPU µs/event (net of idle)", net, ratioTarget(net[0], net[1], "most", 1), (n) => fixed(n, 1)),
  ];
}

/** A topic per user over 3 nodes, each event to one user: CPU per event on every node, net of holding the connections. */
export const manyTopics: Scenario<ManyTopicsResult> = { name: "many-topics", render, glance };
