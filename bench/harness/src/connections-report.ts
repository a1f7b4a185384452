import type { ConnectionsResult } from "./connections.js";
import type { ConnectionsProfile } from "./connections-profile.js";
import { findings, firstError, fixed, glanceRow, hubRatios, int, kb, mb, notClean, of, perSystem, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

export interface ConnectionsReport extends ScenarioReport<ConnectionsResult> {
  /** Why fewer connections than the mode asks for ran, if so. */
  reduced?: string;
  /** Heap snapshots around 10,000 connections (full mode): what grew per connection. */
  profiles?: ConnectionsProfile[];
}

const CONNECTION_TARGET_BYTES = 9 * 1024;
const FINDINGS = findings("connections-where-the-memory-of-an-idle-connection-goes");

function render(report: ConnectionsReport, { params }: ConnectionsResult): string[] {
  const { results } = report;
  const hub = of(results, "hub");
  return [
    ...(report.reduced ? [`**${report.reduced}.**`, ""] : []),
    `${int(params.connections)} idle connections (each connected and subscribed to one topic) on one server process, opened by ` +
      `${params.clientProcesses} client processes with 50 handshakes in flight each, after ${params.warmupConnections} warm-up ` +
      `connections that stay open. Memory is read before and ${params.settleMs / 1000} s after the last connection: VmRSS from ` +
      "/proc/<pid>/status, V8 heap used from the hub's /metrics (`hub_nodejs_heap_size_used_bytes`) or the baselines' /stats " +
      "(process.memoryUsage()). No GC is forced, so the heap figure includes garbage not yet collected." +
      (params.localAddresses
        ? ` Clients connect from ${params.localAddresses.length} source addresses (${params.localAddresses.join(", ")}).`
        : ""),
    "",
    ...table(
      "| system | connected | failures | connects/s | RSS before MB | RSS after MB | RSS KB/connection | heap KB/connection |",
      "| ------ | --------: | -------: | ---------: | ------------: | -----------: | ----------------: | -----------------: |",
      results.map(
        (r) =>
          `| ${r.system} | ${int(r.connected)} | ${int(r.connectFailures)} | ${int(r.connectsPerSecond)} | ${mb(r.before.rssBytes)} | ` +
          `${mb(r.after.rssBytes)} | ${kb(r.rssBytesPerConnection)} | ${kb(r.heapBytesPerConnection)} |`,
      ),
    ),
    ...table(
      "| ratio | RSS per connection | connects/s |",
      "| ----- | -----------------: | ---------: |",
      hubRatios(results, (r) => [r.rssBytesPerConnection, r.connectsPerSecond]),
    ),
    ...(hub ? targets(report, hub) : []),
    ...renderProfiles(report.profiles ?? []),
    ...results
      .filter((r) => r.connectFailures !== 0)
      .flatMap((r) => notClean(r.system, `${r.connectFailures} connections failed${firstError(r.connectError)}`)),
  ];
}

/** The hub's memory and scale targets; 100,000 connections run in full mode only, where the machine's limits allow. */
function targets({ mode, reduced }: ConnectionsReport, hub: ConnectionsResult): string[] {
  const met = hub.rssBytesPerConnection <= CONNECTION_TARGET_BYTES;
  const lines = [
    `Target "<= 9 KB server memory per idle connection": **${met ? "met" : "missed"}** (${kb(hub.rssBytesPerConnection)} KB RSS per connection).` +
      (met ? "" : " The cause is in [where the memory goes](#where-the-memory-of-an-idle-connection-goes) below."),
  ];
  if (mode === "quick") lines.push('Target "100,000 on one node": not evaluated in quick mode (`pnpm bench --full`).');
  else if (hub.connected < 100_000) {
    lines.push(
      `Target "100,000 on one node": **not evaluated**: ${reduced ?? `only ${int(hub.connected)} connected`}. The harness supports it ` +
        "where the limits allow: it re-runs itself under `ulimit -n 200000` when a shell may raise the limit, adds client processes, " +
        "and spreads clients over 127.0.0.x source addresses past one address's ephemeral port range. " +
        "[connections-100k](#connections-100k) runs 100,000 over several server processes instead.",
    );
  }
  return [...lines, ""];
}

/** The heap snapshots' growth per connection by object kind, hub next to plain. */
function renderProfiles(profiles: ConnectionsProfile[]): string[] {
  const heading = ["### Where the memory of an idle connection goes", ""];
  const hub = of(profiles, "hub");
  const plain = of(profiles, "plain");
  if (!hub) {
    return [
      ...heading,
      "Heap snapshots are taken in full mode only (`pnpm bench --full`, or `node --import tsx bench/harness/src/connections-profile.ts`); " +
        `what the last full run's snapshots showed: ${FINDINGS}.`,
      "",
    ];
  }
  const keys = [...new Set([...hub.top.slice(0, 20).map((r) => r.key), ...(plain?.top.slice(0, 12).map((r) => r.key) ?? [])])];
  const rows = keys.map((key) => {
    const h = hub.top.find((r) => r.key === key);
    const b = plain?.top.find((r) => r.key === key);
    return (
      `| \`${key}\` | ${h ? fixed(h.countPerConnection, 1) : "?"} | ${h ? int(h.bytesPerConnection) : "?"} | ${b ? fixed(b.countPerConnection, 1) : "?"} | ` +
      `${b ? int(b.bytesPerConnection) : "?"} | ${h && b ? int(h.bytesPerConnection - b.bytesPerConnection) : "?"} |`
    );
  });
  return [
    ...heading,
    `A separate pass (the snapshots' full GC and native memory would disturb the figures above): one server process with ` +
      `${int(hub.connections)} idle connections, a heap snapshot (\`--heapsnapshot-signal\`) before and after, and the growth of ` +
      "V8 objects per connection by kind (type and constructor; anonymous functions are `closure:`, their scopes `system / Context`). " +
      `Live heap per connection, after the snapshot's full GC: hub ${kb(hub.liveHeapBytesPerConnection)} KB` +
      (plain ? `, plain ${kb(plain.liveHeapBytesPerConnection)} KB` : "") +
      ".",
    "",
    ...table(
      "| object kind | hub count | hub bytes | plain count | plain bytes | hub - plain bytes |",
      "| ----------- | --------: | --------: | ----------: | ----------: | ----------------: |",
      rows,
    ),
    `What the snapshots show and what would bring the hub down: ${FINDINGS}.`,
    "",
  ];
}

function glance(report: ConnectionsReport): GlanceRow[] {
  const hub = of(report.results, "hub");
  return [
    glanceRow(
      "connections",
      "RSS KB per idle connection",
      perSystem(report.results, (r) => r.rssBytesPerConnection / 1024),
      hub ? `<= 9 KB: **${hub.rssBytesPerConnection <= CONNECTION_TARGET_BYTES ? "met" : "missed"}**` : "<= 9 KB",
    ),
    glanceRow(
      "connections",
      "idle connections on one node",
      perSystem(report.results, (r) => r.connected),
      // One process may open 20,000 files here: 100,000 run over several processes (connections-100k).
      (hub?.connected ?? 0) >= 100_000 ? "100,000: **met**" : "100,000: see connections-100k",
      int,
    ),
  ];
}

/** Idle connections on one server process: memory per connection, and where it goes (heap snapshots, full mode). */
export const connections: Scenario<ConnectionsResult, ConnectionsReport> = { name: "connections", render, glance };
