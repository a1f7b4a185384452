import type { ChatResult } from "./chat.js";
import { findings, firstError, fixed, glanceRow, hubRatios, int, notClean, of, perSystem, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

/** The issue's targets: p99 from send to the other members' receipt, and the hub's CPU per delivery against plain's. */
const P99_TARGET_MS = 50;
const CPU_TARGET_RATIO = 1.3;

/** results/chat.json: the results and how busy other work kept the machine meanwhile. */
export interface ChatReport extends ScenarioReport<ChatResult> {
  otherCores?: number;
}

function render({ results, mode, otherCores }: ChatReport, { params }: ChatResult): string[] {
  const users = params.conversations * params.usersPerConversation;
  const others = params.usersPerConversation - 1;
  const hub = of(results, "hub");
  return [
    `${int(params.conversations)} conversations of ${params.usersPerConversation} users (${int(users)} connections, ${mode} mode), ` +
      `user i on server process i % ${params.nodes}, so every conversation spans both; the users run in ${params.clientProcesses} ` +
      `client processes. Each user sends one \`message:send\` per second (~${params.textBytes} bytes of text, its send time in ` +
      "`data.metadata`) and one `typing:start` half a second before each, for " +
      `${params.seconds} s after ${params.warmupSeconds} s unmeasured. Hub: \`chat:c<id>\` topics, each user subscribed with a ` +
      "subscription token (`pub: true`) that it also sends with every `publish` request (acknowledged); `message:send` is durable " +
      "(history, broadcast to every member including the sender, client-event stream), `typing:start` ephemeral. Plain: " +
      "[servers/plain-chat-server.ts](../harness/src/servers/plain-chat-server.ts), a Socket.IO server per node with " +
      "`@socket.io/redis-adapter` on the same redis-server, a room per conversation, `socket.to(room).emit(...)` of both events; " +
      "no auth, no acks, no history.",
    "",
    `**Counted**: a delivery is a \`message:new\` received by a member other than its sender (${others} per message, for both ` +
      "systems); the hub's copy back to the sender and the typing indicators are counted apart and not in the denominator, " +
      "though their CPU is in the numerator of both systems (the same typing work in both; the sender's copy is the hub's own " +
      "cost). Server CPU is both server processes' user+system time over the window (/proc/<pid>/stat) divided by those " +
      '"deliveries"; "net" subtracts each process\'s rate over ' +
      `${params.idleSeconds} s with everyone connected and nothing sent; "per frame" divides by every frame delivered (to other ` +
      "members, the sender's copies and typing). Latency is the sender's send time to another member's receipt " +
      "(client processes on the same machine clock). Stream lag (hub): a backend consumer in the harness reads the 16 " +
      "`hub:ce:{chat-b<k>}` streams with one XREAD (BLOCK 100 ms) in a loop; lag = read time − the envelope's `ts` (both " +
      "whole milliseconds).",
    "",
    ...table(
      "| system | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | losses | sender's copies | typing delivered | server CPU µs/delivery | net of idle | per frame | idle ms/s (each node) | server cores busy | redis CPU µs/message | client cores busy | stream lag p50 / p99 / max ms |",
      "| ------ | -----------: | -----: | -----: | -----: | -----: | -----: | --------------: | ---------------: | ---------------------: | ----------: | --------: | --------------------: | ----------------: | -------------------: | ----------------: | ----------------------------: |",
      results.map((r) => {
        const lag = r.streamLag;
        return (
          `| ${r.system} | ${int(r.deliveriesPerSecond)} | ${fixed(r.latencyMs.p50)} | ${fixed(r.latencyMs.p95)} | ${fixed(r.latencyMs.p99)} | ` +
          `${fixed(r.latencyMs.max)} | ${int(r.losses)} | ${int(r.ownCopies)} | ${int(r.typingReceived)} / ${int(r.typingSent * others)} | ` +
          `${fixed(r.serverCpuMicrosPerDelivery, 1)} | ${fixed(r.netServerCpuMicrosPerDelivery, 1)} | ${fixed(r.serverCpuMicrosPerFrame, 1)} | ` +
          `${r.idleCpuMicrosPerSecond.map((c) => fixed(c / 1000, 1)).join(" / ")} | ${fixed(r.serverCoresBusy)} | ` +
          `${fixed(r.redisCpuMicrosPerMessage, 1)} | ${fixed(r.clientCoresBusy)} | ` +
          `${lag ? `${fixed(lag.lagMs.p50)} / ${fixed(lag.lagMs.p99)} / ${fixed(lag.lagMs.max)} (${int(lag.entries)} entries)` : "n/a"} |`
        );
      }),
    ),
    ...table(
      "| ratio | server CPU per delivery | net of idle | p99 latency |",
      "| ----- | ----------------------: | ----------: | ----------: |",
      hubRatios(results, (r) => [r.serverCpuMicrosPerDelivery, r.netServerCpuMicrosPerDelivery, r.latencyMs.p99]),
    ),
    ...(otherCores === undefined
      ? []
      : [
          `Other processes on the machine (not this run's) kept ${fixed(otherCores)} cores busy on average during the scenario` +
            (otherCores > 0.2 ? ": **latency here is inflated by other work**; the CPU figures count each process's own time." : "."),
          "",
        ]),
    ...(hub ? targets(hub, of(results, "plain")) : []),
    ...results
      .filter((r) => r.losses !== 0 || r.connectFailures !== 0 || r.publishFailures !== 0 || r.droppedConnections !== 0)
      .flatMap((r) =>
        notClean(
          r.system,
          `losses ${r.losses}, connect failures ${r.connectFailures}${firstError(r.connectError)}, publish failures ` +
            `${r.publishFailures}${firstError(r.publishError)}, dropped connections ${r.droppedConnections}`,
        ),
      ),
  ];
}

function targets(hub: ChatResult, plain: ChatResult | undefined): string[] {
  const cpu = plain && hub.serverCpuMicrosPerDelivery / plain.serverCpuMicrosPerDelivery;
  const p99 = hub.latencyMs.p99;
  const missed = (cpu !== undefined && cpu > CPU_TARGET_RATIO) || p99 >= P99_TARGET_MS;
  return [
    `Target "p99 < ${P99_TARGET_MS} ms at this load": **${p99 < P99_TARGET_MS ? "met" : "missed"}** (${fixed(p99)} ms).`,
    ...(cpu === undefined
      ? []
      : [
          `Target "hub server CPU per delivery <= ${CPU_TARGET_RATIO}x plain": **${cpu <= CPU_TARGET_RATIO ? "met" : "missed"}** (${fixed(cpu)}x).`,
        ]),
    ...(missed ? [`Where the hub's time goes: ${findings("chat-where-the-hubs-cpu-goes")}.`] : []),
    "",
  ];
}

function glance({ results }: ChatReport): GlanceRow[] {
  const cpu = perSystem(results, (r) => r.serverCpuMicrosPerDelivery);
  const ratio = (cpu[0] ?? Number.NaN) / (cpu[1] ?? Number.NaN);
  const p99 = of(results, "hub")?.latencyMs.p99;
  return [
    glanceRow(
      "chat",
      "server CPU µs per message delivered to another member",
      cpu,
      Number.isFinite(ratio)
        ? `<= ${CPU_TARGET_RATIO}x plain: **${ratio <= CPU_TARGET_RATIO ? "met" : "missed"}**`
        : `<= ${CPU_TARGET_RATIO}x plain`,
      (n) => fixed(n, 1),
    ),
    glanceRow(
      "chat",
      "p99 ms send to other members' receipt",
      perSystem(results, (r) => r.latencyMs.p99),
      p99 === undefined ? `< ${P99_TARGET_MS} ms` : `< ${P99_TARGET_MS} ms: **${p99 < P99_TARGET_MS ? "met" : "missed"}**`,
    ),
  ];
}

/** Conversations of 5 users, each sending a message a second: the hub's chat path against a plain Socket.IO relay. */
export const chat: Scenario<ChatResult, ChatReport> = { name: "chat", render, glance };
