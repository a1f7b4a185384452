import type { ScalingRun } from "./cluster-scaling.js";
import { CLUSTER_SYSTEMS, type ClusterSystemName } from "./cluster-systems.js";
import type { EmitterThroughputResult, EmitterThroughputRun } from "./emitter-throughput.js";
import { findings, firstError, fixed, glanceRow, int, notClean, ratio, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

export interface ClusterScalingReport extends ScenarioReport<ScalingRun> {
  /** The emitter SDK's events/s on the cluster against one Redis. */
  emitter?: EmitterThroughputResult;
  /** Cores other processes on the machine kept busy while the scenario ran, on average. */
  otherCores?: number;
}

const EMITTER_TARGET = 2.5;
const FINDINGS = findings("cluster-scaling-per-gateway-cost-and-the-emitter-on-2-cores");

const mean = (xs: readonly number[]) => xs.reduce((n, x) => n + x, 0) / xs.length;
const us = (xs: readonly number[]) => xs.map((x) => fixed(x, 1)).join(" / ");
const SYSTEM_LABEL: Record<ClusterSystemName, string> = {
  "hub-classic": "hub, `HUB_PUBSUB=classic`",
  "hub-sharded": "hub, `HUB_PUBSUB=sharded`",
  "plain-sharded": "plain, sharded adapter",
};

function render(report: ClusterScalingReport, { params }: ScalingRun): string[] {
  const { results, emitter } = report;
  return [
    `One Redis Cluster of 6 redis-server processes (3 masters, 3 replicas; \`startRedisCluster\`) for the whole scenario. For each ` +
      `gateway count G (${params.gateways.join(", ")}) and each system, ${int(params.users)} users each connect once to gateway \`i % G\` ` +
      "and subscribe to their own `notifications:u<i>`, so every topic's member is on one gateway and the topics are spread evenly. " +
      "Systems: the hub's gateways with `HUB_PUBSUB=classic` (every gateway PSUBSCRIBEs to every broadcast) and `sharded` (SSUBSCRIBE " +
      "per topic with members on the gateway), producer `createHubEmitter` on an ioredis `Cluster` (PUBLISH or SPUBLISH from the " +
      "publish script); plain Socket.IO with `@socket.io/redis-adapter`'s `createShardedAdapter` (subscription mode dynamic) on ioredis " +
      "`Cluster` clients, producer SPUBLISH of the adapter's own broadcast message on the room's channel. " +
      `After ${params.warmupSeconds} s of warm-up, two ` +
      `phases of ${params.rate} events/s for ${params.seconds} s each: **spread**, each event to a user picked at random (the same ` +
      "total rate for every G, so each gateway is concerned by 1/G of it), and **targeted**, every event to a user on the last " +
      "gateway, so the other gateways' CPU is what events that do not concern them cost. CPU is net of each process's idle rate " +
      `(users connected, nothing published; ${params.idleSeconds} s before the phases and ${params.idleSeconds} s after them, the mean ` +
      "subtracted), so a figure near 0 can come out slightly negative. Messages are the room broadcasts each " +
      "gateway received from Redis (the hub's `hub_pubsub_messages_total`, plain's count of `smessage`s), i.e. what Redis sent to " +
      "the gateways; redis CPU is all 6 nodes', net of their idle rate (the cluster bus keeps them busy too).",
    "",
    ...table(
      "| G | system | spread: gateway CPU µs per event that concerns it (each gateway) | targeted: target gateway µs/event | targeted: other gateways µs/event (not concerning them) | messages per event (spread) | messages per not-concerning event (targeted) | redis CPU µs/event | p99 ms | losses |",
      "| -: | ------ | ---------------------------------------------------------------: | -------------------------------: | ------------------------------------------------------: | --------------------------: | -------------------------------------------: | -----------------: | -----: | -----: |",
      results.map(
        (r) =>
          `| ${r.gateways} | ${SYSTEM_LABEL[r.system]} | ${us(r.cpuMicrosPerConcerningEvent)} | ${fixed(r.targetCpuMicrosPerEvent, 1)} | ` +
          `${us(r.otherCpuMicrosPerEvent)} | ${fixed(r.messagesPerEvent)} | ${fixed(r.otherMessagesPerEvent)} | ` +
          `${fixed(r.redisCpuMicrosPerEvent, 1)} | ${fixed(r.spread.latencyMs.p99, 1)} | ${int(r.spread.losses + r.targeted.losses)} |`,
      ),
    ),
    "Per-gateway CPU per event that concerns it (spread phase, mean over the gateways) as gateways are added (the target: flat; " +
      `with the total rate fixed, each gateway's own rate falls as 1/G, which moves this figure too: ${FINDINGS}):`,
    "",
    ...table(
      `| system | ${params.gateways.map((g) => `G=${g}`).join(" | ")} | G=${params.gateways.at(-1)} / G=${params.gateways[0]} |`,
      `| ------ | ${params.gateways.map(() => "--:").join(" | ")} | --: |`,
      CLUSTER_SYSTEMS.filter((s) => results.some((r) => r.system === s)).map((system) => {
        const per = params.gateways.map((g) => concerningMean(results, system, g));
        return `| ${SYSTEM_LABEL[system]} | ${per.map((x) => (x === undefined ? "n/a" : fixed(x, 1))).join(" | ")} | ${ratio(per.at(-1), per[0])} |`;
      }),
    ),
    ...(emitter ? renderEmitter(emitter) : []),
    ...(report.otherCores !== undefined
      ? [`Other processes on the machine kept ${fixed(report.otherCores)} cores busy on average while this scenario ran.`, ""]
      : []),
    ...results
      .filter(
        (r) =>
          r.spread.losses + r.targeted.losses !== 0 ||
          r.connectFailures !== 0 ||
          r.spread.publishFailures + r.targeted.publishFailures !== 0,
      )
      .flatMap((r) =>
        notClean(
          `${r.system}, ${r.gateways} gateways`,
          `losses ${r.spread.losses + r.targeted.losses}, connect failures ${r.connectFailures}${firstError(r.connectError)}, ` +
            `publish failures ${r.spread.publishFailures + r.targeted.publishFailures}`,
        ),
      ),
  ];
}

function renderEmitter(e: EmitterThroughputResult): string[] {
  const p = e.params;
  const met = e.ratio >= EMITTER_TARGET;
  const line = (r: EmitterThroughputRun) =>
    `| ${r.target === "single" ? "one Redis" : `Redis Cluster, ${r.masters} masters + replicas`} | ${int(r.eventsPerSecond)} | ` +
    `${fixed(r.producerCpuMicrosPerEvent, 1)} | ${fixed(r.redisCpuMicrosPerEvent, 1)} | ${fixed(r.producerCoresBusy)} | ${fixed(r.redisCoresBusy)} | ` +
    `${fixed(r.busiestRedisCoresBusy)} | ${int(r.redisBoundEventsPerSecond)} | ${int(r.failed)} |`;
  return [
    `**Emitter throughput**: ${p.producers} producer processes, each publishing ${int(p.eventsPerProducer)} events (after ` +
      `${int(p.warmupEventsPerProducer)} unmeasured) through \`createHubEmitter\` as fast as it goes, ${p.concurrency} publishes in ` +
      `flight, \`notification.created\` to users picked at random among ${int(p.users)} (as many topics, spread over the slots); no ` +
      "gateway runs. events/s is all events over the time from the first measured publish to the last one settling. The producers " +
      "and the redis-servers share the machine's cores; redis CPU is net of the nodes' idle rate. **redis-bound events/s** is derived, " +
      "not measured: events/s over the busiest redis-server's share of a core, the rate at which that process would fill its one " +
      "core if the producers had cores to spare (what Redis itself allows).",
    "",
    "| deployment | events/s | producer CPU µs/event | redis CPU µs/event (all nodes) | producer cores busy | redis cores busy (all nodes) | busiest redis-server cores busy | redis-bound events/s (derived) | failed |",
    "| ---------- | -------: | --------------------: | -----------------------------: | ------------------: | ---------------------------: | ------------------------------: | -----------------------------: | -----: |",
    line(e.single),
    line(e.cluster),
    "",
    `Cluster over one Redis: **${fixed(e.ratio)}x** measured (target >= ${EMITTER_TARGET}x${met ? ", met" : `, **missed**; why: ${FINDINGS}`}); ` +
      `redis-bound (derived): ${fixed(e.redisBoundRatio)}x.`,
    "",
  ];
}

function concerningMean(results: readonly ScalingRun[], system: ClusterSystemName, gateways: number): number | undefined {
  const r = results.find((x) => x.system === system && x.gateways === gateways);
  return r && mean(r.cpuMicrosPerConcerningEvent);
}

function glance({ results, emitter }: ClusterScalingReport): GlanceRow[] {
  const most = Math.max(...results.map((r) => r.gateways));
  const plain = concerningMean(results, "plain-sharded", most);
  const rows = (["hub-sharded", "hub-classic"] as const).map((hub) =>
    glanceRow(
      "cluster-scaling",
      `gateway CPU µs per event that concerns it, ${most} gateways on Redis Cluster (hub: ${hub === "hub-sharded" ? "sharded" : "classic"} pub/sub; plain: sharded adapter)`,
      [concerningMean(results, hub, most), plain, undefined],
      hub === "hub-sharded" ? "flat as gateways are added" : "",
      (n) => fixed(n, 1),
    ),
  );
  if (emitter) {
    rows.push([
      "cluster-scaling",
      "emitter events/s, Redis Cluster of 3 masters over one Redis",
      `${fixed(emitter.ratio)}x`,
      "n/a",
      "n/a",
      "n/a",
      "n/a",
      `>= ${EMITTER_TARGET}x`,
    ]);
  }
  return rows;
}

/** The hub and plain Socket.IO on a Redis Cluster with 2-4 gateways: per-gateway CPU per event, messages per event, emitter events/s. */
export const clusterScaling: Scenario<ScalingRun, ClusterScalingReport> = { name: "cluster-scaling", render, glance };
