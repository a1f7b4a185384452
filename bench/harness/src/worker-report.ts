import { findings, fixed, int } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";
import type { WorkerResult } from "./worker.js";

const LATENESS_TARGET_MS = 100;

function met(w: WorkerResult): boolean {
  return (
    w.latenessMs.p99 < LATENESS_TARGET_MS &&
    w.missingExpirations === 0 &&
    w.duplicateExpirations === 0 &&
    w.workerWarnings === 0 &&
    w.workerExits === 0 &&
    w.leasesLost === 0 &&
    w.setup.sendFailures + w.deadlinePhase.sendFailures === 0
  );
}

function render({ mode }: ScenarioReport<WorkerResult>, w: WorkerResult): string[] {
  const p = w.params;
  const l = w.latenessMs;
  const lines = [
    `${int(p.queues)} inhouse queues over ${p.workers} queue-worker processes (\`apps/queue-worker\`, \`CHECK_IN_TIMEOUT_MS=${p.checkInTimeoutMs}\`), ` +
      `spread over ${p.orgs} orgs, and one gateway. Commands go through the emitter SDK (\`createHubEmitter(...).inhouse.send\`); ` +
      `${p.orgs} real socket.io-client instances in their own process, each subscribed to one \`inhouse:{org}\` topic with a service token, ` +
      "observe the results. **Setup**: every queue gets `open` (capacity 2) and a first `join`, " +
      `${p.concurrency} queues in flight; commands/s is commands divided by the time from the first send to the last \`queue_updated\` ` +
      "observed (one per applied command). **Idle**: every queue active and nothing sent, " +
      `${p.idleSeconds} s. **Deadlines**: ${p.deadlineQueuesPerSecond} queues/s get a second \`join\` (the queue is full: check-in with a ` +
      "deadline) and a `check_in` of the first player; the second never checks in, so each deadline fires. Lateness is the receipt of " +
      "`check_in_expired` by the observing client minus the queue's deadline (from the `queue_updated` that entered check-in), so it " +
      "includes the gateway's delivery. Failures: missing or duplicated expirations, workers' warn/error log lines, lost leases, " +
      "exited workers.",
    "",
    "The baselines have no counterpart: plain Socket.IO and raw ws have no queues, leases or deadlines (what a user writes in 30 " +
      "lines has none), so there is nothing to run against and this scenario reports the hub alone.",
    "",
    "| phase | commands | applied | commands/s applied | accepted/s (SDK) | worker CPU µs/command (all) | redis CPU µs/command |",
    "| ----- | -------: | ------: | -----------------: | ---------------: | --------------------------: | -------------------: |",
    ...[w.setup, w.deadlinePhase].map(
      (f, i) =>
        `| ${i === 0 ? "setup" : "deadlines (paced)"} | ${int(f.commands)} | ${int(f.applied)} | ${int(f.appliedPerSecond)} | ` +
        `${int(f.acceptedPerSecond)} | ${fixed(f.workerCpuMicrosPerCommand, 0)} | ${fixed(f.redisCpuMicrosPerCommand, 0)} |`,
    ),
    "",
    "| deadlines set | expired observed | missing | duplicated | early | lateness p50 ms | p95 ms | p99 ms | max ms | idle worker CPU ms/s (each) | idle redis CPU ms/s | worker cores busy in the deadline phase (each) | worker warnings | leases lost |",
    "| ------------: | ---------------: | ------: | ---------: | ----: | --------------: | -----: | -----: | -----: | --------------------------: | ------------------: | ---------------------------------------------: | --------------: | ----------: |",
    `| ${int(w.deadlinesSet)} | ${int(w.expiredObserved)} | ${int(w.missingExpirations)} | ${int(w.duplicateExpirations)} | ${int(w.early)} | ` +
      `${fixed(l.p50)} | ${fixed(l.p95)} | ${fixed(l.p99)} | ${fixed(l.max)} | ` +
      `${w.idleWorkerCpuMicrosPerSecond.map((c) => fixed(c / 1000, 0)).join(" / ")} | ${fixed(w.idleRedisCpuMicrosPerSecond / 1000, 0)} | ` +
      `${w.deadlinePhaseWorkerCoresBusy.map((c) => fixed(c)).join(" / ")} | ${int(w.workerWarnings)} | ${int(w.leasesLost)} |`,
    "",
  ];
  if (w.warningMessages.length) lines.push(`Worker warnings: ${w.warningMessages.map((m) => `\`${m}\``).join(", ")}.`, "");
  lines.push(
    `Target "deadline lateness p99 < ${LATENESS_TARGET_MS} ms without failures": **${met(w) ? "met" : "missed"}** ` +
      `(p99 ${fixed(l.p99)} ms with ${int(p.queues)} active queues; ${int(w.missingExpirations)} missing, ${int(w.duplicateExpirations)} duplicated, ` +
      `${int(w.workerWarnings)} warnings, ${int(w.leasesLost)} leases lost).` +
      (met(w) ? "" : ` Where to look: ${findings("worker-where-to-look-when-deadlines-are-late")}.`),
    "",
  );
  if (mode === "quick" && p.queues < 10_000) {
    lines.push(`Quick mode runs ${int(p.queues)} queues; the issue's 10,000 run in full mode (\`pnpm bench --full\`).`, "");
  }
  return lines;
}

/** The hub's alone: the baselines have no queues, so the figures for plain and raw are "n/a" and there are no ratios. */
function glance({ results }: ScenarioReport<WorkerResult>): GlanceRow[] {
  const w = results[0];
  if (!w) return [];
  return [
    ["worker", "commands/s applied (setup)", int(w.setup.appliedPerSecond), "n/a", "n/a", "", "", ""],
    [
      "worker",
      "deadline lateness p99 ms",
      fixed(w.latenessMs.p99),
      "n/a",
      "n/a",
      "",
      "",
      `< ${LATENESS_TARGET_MS} ms without failures: **${met(w) ? "met" : "missed"}**`,
    ],
  ];
}

/** Inhouse queues over 3 queue-workers: commands applied per second, and how late check-in deadlines fire. */
export const worker: Scenario<WorkerResult> = { name: "worker", render, glance };
