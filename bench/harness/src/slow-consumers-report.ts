import { findings, firstError, fixed, glanceRow, int, mb, notClean, of, perSystem, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";
import type { RssSample, SlowConsumersResult } from "./slow-consumers.js";

/** `hub_slow_consumer_disconnects_total` over the window, or undefined where the gateway does not export it. */
export function slowConsumerDisconnects(r: SlowConsumersResult): number | undefined {
  const after = r.serverAfter.slowConsumerDisconnects;
  return after === undefined ? undefined : after - (r.serverBefore.slowConsumerDisconnects ?? 0);
}

/** What the server's own counters say about the paused clients' connections. */
function serverSays(r: SlowConsumersResult): string {
  if (r.system === "hub") {
    const slow = slowConsumerDisconnects(r);
    return slow === undefined ? "`hub_slow_consumer_disconnects_total` absent" : `${int(slow)} slow_consumer`;
  }
  const before = r.serverBefore.disconnects ?? {};
  const reasons = Object.entries(r.serverAfter.disconnects ?? {})
    .map(([reason, n]) => [reason, n - (before[reason] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  return reasons.length ? reasons.map(([reason, n]) => `${int(n)} ${reason}`).join(", ") : "none";
}

function render({ results }: ScenarioReport<SlowConsumersResult>, { params: p }: SlowConsumersResult): string[] {
  return [
    `One server process per system. ${int(p.paused)} paused clients and ${int(p.healthy)} healthy ones (wire clients) subscribe to ` +
      `one topic; a producer sends ${p.rate} events/s of ~${int(p.payloadBytes / 1024)} KB: ${p.warmupSeconds} s unmeasured, ` +
      `${p.controlSeconds} s with every client reading (control), then ${p.seconds} s in which the paused clients do not read their ` +
      "TCP socket (`WebSocket.pause()` on the `net.Socket`): the kernel's buffers fill, then the server's. VmRSS of the server " +
      "is read from /proc/<pid>/status every second. The hub's gateway runs with " +
      `\`CLIENT_BUFFER_BYTES=${p.clientBufferBytes}\`; the bound is ${int(p.paused)} × ${mb(p.clientBufferBytes)} MB + ` +
      `${mb(p.allowanceBytes)} MB of allowance (the collector's headroom: V8 frees garbage at its next major GC, not at once) ` +
      "above the RSS at the moment the clients paused; plain Socket.IO has no cap, and its figure is shown against the same " +
      "yardstick. \"Paused disconnected\" is the drop of the server's open connections (`hub_connections`, plain's " +
      "`io.engine.clientsCount`) over the window, less healthy clients dropped; the last column is the server's own count " +
      "(the hub's `hub_slow_consumer_disconnects_total`, plain's `disconnect` reasons). The window ends before the servers' " +
      "ping interval + timeout (45 s), so no paused client is dropped for a missing pong. At the end the paused sockets are " +
      "destroyed first (unread data makes the kernel reset the connection, so a server does not wait for a drain that never comes).",
    "",
    ...table(
      "| system | RSS at pause MB | max while paused MB | growth MB | growth MB/s | bound MB | within bound | growth with nobody paused MB | RSS after the paused closed MB | paused disconnected | server's count |",
      "| ------ | --------------: | ------------------: | --------: | ----------: | -------: | ------------ | ---------------------------: | -----------------------------: | ------------------: | -------------- |",
      results.map(
        (r) =>
          `| ${r.system} | ${mb(r.rss.atPauseBytes)} | ${mb(r.rss.maxBytes)} | ${mb(r.rss.growthBytes)} | ${mb(r.rss.growthBytesPerSecond)} | ` +
          `${mb(r.boundBytes)} | ${r.withinBound ? "yes" : "**no**"} | ${mb(r.control.rssGrowthBytes)} (${p.controlSeconds} s) | ` +
          `${mb(r.rss.afterCloseBytes)} | ${int(r.pausedDisconnected)} of ${int(r.pausedConnected)} | ${serverSays(r)} |`,
      ),
    ),
    "Healthy clients, with nobody paused (control) and while the paused clients did not read:",
    "",
    ...table(
      "| system | healthy clients | control p50 ms | control p99 ms | paused p50 ms | paused p95 ms | paused p99 ms | paused max ms | deliveries lost | dropped | out of order | other work cores |",
      "| ------ | --------------: | -------------: | -------------: | ------------: | ------------: | ------------: | ------------: | --------------: | ------: | -----------: | ---------------: |",
      results.map(
        (r) =>
          `| ${r.system} | ${int(r.healthyConnected)} | ${fixed(r.control.latencyMs.p50)} | ${fixed(r.control.latencyMs.p99)} | ` +
          `${fixed(r.healthy.latencyMs.p50)} | ${fixed(r.healthy.latencyMs.p95)} | ${fixed(r.healthy.latencyMs.p99)} | ${fixed(r.healthy.latencyMs.max)} | ` +
          `${int(r.healthy.losses + r.control.losses)} | ${int(r.healthy.dropped)} | ${int(r.healthy.outOfOrder)} | ${fixed(r.otherCores)} |`,
      ),
    ),
    ...renderSeries(results),
    "",
    ...renderTarget(results),
    ...results
      .filter((r) => r.connectFailures !== 0 || r.healthy.losses + r.control.losses !== 0 || r.publishFailures !== 0)
      .flatMap((r) =>
        notClean(
          r.system,
          `healthy deliveries lost ${r.healthy.losses + r.control.losses}, connect failures ${r.connectFailures}${firstError(r.connectError)}, ` +
            `publish failures ${r.publishFailures}`,
        ),
      ),
  ];
}

/** RSS (and open connections) every second, the systems side by side, by second from the pause. */
function renderSeries(results: SlowConsumersResult[]): string[] {
  const bySecond = results.map((r) => new Map<number, RssSample>(r.rss.series.map((s) => [Math.round(s.t), s])));
  const seconds = [...new Set(bySecond.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const lines = [
    "Server RSS every second (t = seconds since the clients paused; connections as the server counted them):",
    "",
    `| t s | ${results.map((r) => `${r.system} phase | ${r.system} RSS MB | ${r.system} connections`).join(" | ")} |`,
    `| --: | ${results.map(() => "----- | -----: | ----------:").join(" | ")} |`,
  ];
  for (const t of seconds) {
    const cells = bySecond.map((m) => {
      const s = m.get(t);
      return s ? `${s.phase} | ${mb(s.rssBytes)} | ${s.connections === undefined ? "" : int(s.connections)}` : " | | ";
    });
    lines.push(`| ${t} | ${cells.join(" | ")} |`);
  }
  return lines;
}

/** The hub's bound on buffered memory: met or missed, with plain's growth and the healthy clients' latency beside it. */
function renderTarget(results: SlowConsumersResult[]): string[] {
  const hub = of(results, "hub");
  const plain = of(results, "plain");
  if (!hub) return [];
  const p = hub.params;
  const target = [
    `Target "hub RSS bounded by ${int(p.paused)} × CLIENT_BUFFER_BYTES + a constant": **${hub.withinBound ? "met" : "missed"}** ` +
      `(grew ${mb(hub.rss.growthBytes)} MB while ${int(hub.pausedConnected)} clients were paused, bound ${mb(hub.boundBytes)} MB` +
      (plain ? `; plain grew ${mb(plain.rss.growthBytes)} MB, ${mb(plain.rss.growthBytesPerSecond)} MB/s` : "") +
      `). Healthy clients' p99: hub ${fixed(hub.healthy.latencyMs.p99)} ms (${fixed(hub.control.latencyMs.p99)} ms with nobody paused)` +
      (plain ? `, plain ${fixed(plain.healthy.latencyMs.p99)} ms (${fixed(plain.control.latencyMs.p99)} ms)` : "") +
      ".",
  ];
  if (slowConsumerDisconnects(hub) === undefined) {
    target.push(
      "The gateway of this run does not export `hub_slow_consumer_disconnects_total`: it has no outbound buffer cap yet " +
        "(`CLIENT_BUFFER_BYTES` was set but not read), so the hub buffers for paused clients as plain Socket.IO does.",
    );
  }
  const lines = [target.join(" "), ""];
  if (results.some((r) => r.rss.afterCloseBytes > r.rss.endBytes)) {
    lines.push(
      'RSS "after the paused closed" is above the end of the window: garbage V8 has not collected yet, not memory kept for the ' +
        `closed clients (what a development run showed: ${findings("slow-consumers-rss-after-the-paused-clients-closed")}).`,
      "",
    );
  }
  return lines;
}

function glance({ results }: ScenarioReport<SlowConsumersResult>): GlanceRow[] {
  const hub = of(results, "hub");
  const paused = results[0]?.params.paused;
  return [
    glanceRow(
      "slow-consumers",
      `server RSS growth MB with ${paused ?? "N"} paused clients`,
      perSystem(results, (r) => r.rss.growthBytes / 1024 / 1024),
      hub ? `<= ${mb(hub.boundBytes)} MB: **${hub.withinBound ? "met" : "missed"}**` : "<= paused × cap + constant",
      (n) => fixed(n, 1),
    ),
    glanceRow(
      "slow-consumers",
      "healthy clients' p99 ms meanwhile",
      perSystem(results, (r) => r.healthy.latencyMs.p99),
    ),
  ];
}

/** Paused clients next to healthy ones on one topic: how the server's memory grows, against the hub's bound. */
export const slowConsumers: Scenario<SlowConsumersResult> = { name: "slow-consumers", render, glance };
