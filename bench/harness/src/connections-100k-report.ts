import type { Connections100kResult } from "./connections-100k.js";
import { firstError, fixed, glanceRow, hubRatios, int, kb, mb, notClean, of, perSystem, ratio, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

const TARGET_CONNECTIONS = 100_000;

/** "17 source addresses (127.0.0.2 to 127.0.0.18)". */
const addresses = (list: string[] | undefined) =>
  list?.length ? `${list.length} source addresses (${list[0]} to ${list.at(-1)})` : "127.0.0.1";

function render({ results }: ScenarioReport<Connections100kResult>, { params }: Connections100kResult): string[] {
  return [
    `${int(params.connections)} idle connections over ${params.nodes} server processes on one redis-server (hub: gateways, each ` +
      "connection with its own user token; plain: Socket.IO servers joined by `@socket.io/redis-adapter`), each connected and " +
      `subscribed to one topic shared by all, opened by ${params.clientProcesses} client processes (wire-protocol clients, 50 ` +
      `handshakes in flight each) from ${addresses(params.localAddresses)}, after ${params.warmupConnections} warm-up connections that stay ` +
      "open. One process may open 20,000 files here, so no process holds more than 19,000 connections. Memory is summed over the " +
      `server processes, read before and ${params.settleMs / 1000} s after the last connection (VmRSS; V8 heap used from the ` +
      "hub's /metrics, the baselines' /stats; no GC forced). Then one event is published to the topic (hub: emitter SDK; " +
      "plain: `@socket.io/redis-emitter`) and each client's receipt time minus the publish time is recorded, " +
      `${params.broadcasts} times, ${params.broadcastGapMs / 1000} s apart, each until every client received it or ` +
      `${params.broadcastTimeoutMs / 1000} s passed. No connection is started after ${params.connectTimeoutMs / 1000} s; the broadcasts then go to those open. The headline is the **median over the broadcasts of each broadcast's p99** ` +
      "(and of its p50). Server CPU is the server processes' time from the publish until the harness saw the last receipt " +
      "(polled every 100 ms, 10 ms ticks).",
    "",
    ...table(
      "| system | connected | failures | not started (time limit) | dropped | connects/s | server RSS after MB | RSS KB/connection | heap KB/connection | client RSS KB/connection | other work cores |",
      "| ------ | --------: | -------: | -----------------------: | ------: | ---------: | ------------------: | ----------------: | -----------------: | -----------------------: | ---------------: |",
      results.map(
        (r) =>
          `| ${r.system} | ${int(r.connected)} | ${int(r.connectFailures)} | ${int(r.notStarted ?? 0)} | ${int(r.dropped)} | ${int(r.connectsPerSecond)} | ` +
          `${mb(r.rssAfterBytes)} | ${kb(r.rssBytesPerConnection)} | ${kb(r.heapBytesPerConnection)} | ` +
          `${kb(r.clientRssBytesPerConnection)} | ${fixed(r.otherCores)} |`,
      ),
    ),
    ...table(
      "| system | broadcast | received | lost | p50 ms | p99 ms | max ms | server CPU ms |",
      "| ------ | --------: | -------: | ---: | -----: | -----: | -----: | ------------: |",
      results.flatMap((r) =>
        r.broadcasts.map(
          (b, i) =>
            `| ${r.system} | ${i + 1} | ${int(b.received)} | ${int(b.lost)} | ${fixed(b.latencyMs.p50, 1)} | ${fixed(b.latencyMs.p99, 1)} | ` +
            `${fixed(b.latencyMs.max, 1)} | ${int(b.serverCpuMs)} |`,
        ),
      ),
    ),
    ...table(
      "| system | median p50 ms | median p99 ms |",
      "| ------ | ------------: | ------------: |",
      results.map((r) => `| ${r.system} | ${fixed(r.medianP50Ms, 1)} | ${fixed(r.medianP99Ms, 1)} |`),
    ),
    ...table(
      "| ratio | RSS per connection | median p50 | median p99 |",
      "| ----- | -----------------: | ---------: | ---------: |",
      hubRatios(results, (r) => [r.rssBytesPerConnection, r.medianP50Ms, r.medianP99Ms]),
    ),
    ...results
      .filter((r) => r.error || r.connectFailures !== 0 || r.dropped !== 0 || r.broadcasts.some((b) => b.lost !== 0))
      .flatMap((r) =>
        notClean(
          r.system,
          [
            r.error,
            r.connectFailures ? `${r.connectFailures} connections failed${firstError(r.connectError)}` : undefined,
            r.dropped ? `${r.dropped} connections dropped` : undefined,
            ...r.broadcasts.map((b, i) => (b.lost ? `broadcast ${i + 1} lost ${b.lost}` : undefined)),
          ]
            .filter(Boolean)
            .join("; "),
        ),
      ),
  ];
}

function glance({ mode, results }: ScenarioReport<Connections100kResult>): GlanceRow[] {
  const hub = of(results, "hub");
  const plain = of(results, "plain");
  const target =
    mode === "full"
      ? `${int(TARGET_CONNECTIONS)}: **${(hub?.connected ?? 0) >= TARGET_CONNECTIONS ? "met" : "missed"}**`
      : `${int(TARGET_CONNECTIONS)}: full mode only`;
  const connections = hub?.params.connections ?? plain?.params.connections ?? 0;
  const latency = (r: Connections100kResult | undefined) => (r ? `${fixed(r.medianP50Ms, 1)} / ${fixed(r.medianP99Ms, 1)}` : "n/a");
  return [
    glanceRow(
      "connections-100k",
      "connections on this machine (several gateway processes)",
      perSystem(results, (r) => r.connected),
      target,
      int,
    ),
    [
      "connections-100k",
      `one broadcast to all ${int(connections)}: p50 / p99 ms (median of ${hub?.params.broadcasts ?? plain?.params.broadcasts ?? 0})`,
      latency(hub),
      latency(plain),
      "n/a",
      `${ratio(hub?.medianP50Ms, plain?.medianP50Ms)} / ${ratio(hub?.medianP99Ms, plain?.medianP99Ms)}`,
      "n/a",
      "",
    ],
  ];
}

/** 100,000 idle connections over several server processes, and one broadcast to all of them timed. */
export const connections100k: Scenario<Connections100kResult> = { name: "connections-100k", render, glance };
