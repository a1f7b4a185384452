// pnpm bench [--full]: starts its own redis-server, runs each scenario against the hub and the
// baselines one after another, and writes bench/results.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRedis } from "@hub/devkit";
import { Redis } from "ioredis";
import { CALLS_FULL, CALLS_QUICK, CALLS_SYSTEMS, type CallsResult, runCalls } from "./calls.js";
import type { CallsReport } from "./calls-report.js";
import { CHAT_FULL, CHAT_QUICK, CHAT_SYSTEMS, type ChatResult, runChat } from "./chat.js";
import type { ChatReport } from "./chat-report.js";
import { CLUSTER_SCALING_FULL, CLUSTER_SCALING_QUICK, runClusterScaling, type ScalingRun, withRedisCluster } from "./cluster-scaling.js";
import type { ClusterScalingReport } from "./cluster-scaling-report.js";
import {
  CONNECTIONS_FULL,
  CONNECTIONS_QUICK,
  type ConnectionsResult,
  connectionsPlan,
  raiseOpenFileLimit,
  runConnections,
} from "./connections.js";
import {
  CONNECTIONS_100K_FULL,
  CONNECTIONS_100K_QUICK,
  CONNECTIONS_100K_SYSTEMS,
  type Connections100kResult,
  connections100kPlan,
  runConnections100k,
} from "./connections-100k.js";
import { type ConnectionsProfile, profileConnections } from "./connections-profile.js";
import { type EmitterThroughputResult, runEmitterThroughput } from "./emitter-throughput.js";
import { FANOUT_FULL, FANOUT_QUICK, type FanoutResult, runFanout } from "./fanout.js";
import { INGEST_FULL, INGEST_QUICK, type IngestResult, runIngest } from "./ingest.js";
import { describeMachine, NoiseMeter, redisPid } from "./machine.js";
import { MANY_TOPICS_FULL, MANY_TOPICS_QUICK, MANY_TOPICS_SYSTEMS, type ManyTopicsResult, runManyTopics } from "./many-topics.js";
import { mergeRunTimings, renderFromResults, writeReport, writeScenario } from "./report.js";
import { runSaturation, SATURATION_FULL, SATURATION_QUICK, type SaturationResult } from "./saturation.js";
import type { ScenarioReport } from "./scenario-report.js";
import {
  runSlowConsumers,
  SLOW_CONSUMERS_FULL,
  SLOW_CONSUMERS_QUICK,
  SLOW_CONSUMERS_SYSTEMS,
  type SlowConsumersResult,
  slowConsumersEnv,
} from "./slow-consumers.js";
import { slowConsumerDisconnects } from "./slow-consumers-report.js";
import { type StartOptions, type SystemName, type SystemUnderTest, startSystem } from "./systems.js";
import { runWorker, WORKER_FULL, WORKER_QUICK, type WorkerResult } from "./worker.js";

const RESULTS_DIR = fileURLToPath(new URL("../../results", import.meta.url));
const SYSTEMS: SystemName[] = ["hub", "plain", "raw"];

const { values } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    only: { type: "string" },
    render: { type: "boolean", default: false },
    save: { type: "boolean", default: false },
  },
});
// --render: write results/README.md again from results/*.json (after a change to the report's text), run nothing.
if (values.render) {
  await renderFromResults(RESULTS_DIR);
  console.log(`bench: rendered ${RESULTS_DIR}/README.md from the last run's JSON`);
  process.exit(0);
}
// --only fanout,worker: run those scenarios (fanout includes saturation), print, and write no results.
const only = values.only ? new Set(values.only.split(",")) : undefined;
const runs = (scenario: string) => !only || only.has(scenario);
const mode = values.full ? "full" : "quick";
const fanoutParams = values.full ? FANOUT_FULL : FANOUT_QUICK;
const saturationParams = values.full ? SATURATION_FULL : SATURATION_QUICK;
const ingestParams = values.full ? INGEST_FULL : INGEST_QUICK;
const connectionsParams = values.full ? CONNECTIONS_FULL : CONNECTIONS_QUICK;
const connections100kParams = connections100kPlan(values.full ? CONNECTIONS_100K_FULL : CONNECTIONS_100K_QUICK);
const manyTopicsParams = values.full ? MANY_TOPICS_FULL : MANY_TOPICS_QUICK;
const clusterScalingParams = values.full ? CLUSTER_SCALING_FULL : CLUSTER_SCALING_QUICK;
const workerParams = values.full ? WORKER_FULL : WORKER_QUICK;
const slowConsumersParams = values.full ? SLOW_CONSUMERS_FULL : SLOW_CONSUMERS_QUICK;
const chatParams = values.full ? CHAT_FULL : CHAT_QUICK;
const callsParams = values.full ? CALLS_FULL : CALLS_QUICK;

// Full mode's 100,000 connections need more open files than the usual limit: when this process may
// raise it, it runs itself again under `ulimit -n` (children inherit the limit) and exits with its code.
if (values.full) {
  const code = await raiseOpenFileLimit(connectionsParams);
  if (code !== undefined) process.exit(code);
}

// Bounded even if something hangs; child processes are killed on exit (devkit's track()).
const hardLimit = setTimeout(
  () => {
    console.error(`bench: still running after the ${mode} limit, giving up`);
    process.exit(2);
  },
  // A full run of every scenario takes about 45 minutes on 2 cores (connections-100k, chat and calls are the long ones).
  (values.full ? 75 : 10) * 60_000,
);
hardLimit.unref();

const redisServer = await startRedis();
const redis = new Redis(redisServer.url);

/** Starts a fresh system on an empty Redis, runs `body` and stops it. */
async function withSystem<T>(
  name: SystemName,
  options: Omit<StartOptions, "redisUrl">,
  body: (system: SystemUnderTest) => Promise<T>,
): Promise<T> {
  await redis.flushall();
  const system = await startSystem(name, { ...options, redisUrl: redisServer.url });
  try {
    return await body(system);
  } finally {
    await system.close();
  }
}

const began = Date.now();
const timings: Record<string, number> = {};
// Core-seconds other processes on the machine used while each scenario ran: the noise under its figures.
const noise = new NoiseMeter();
const foreignCoreSeconds: Record<string, number> = {};
async function timed<T>(scenario: string, body: () => Promise<T>): Promise<T> {
  const start = Date.now();
  noise.take();
  try {
    return await body();
  } finally {
    const seconds = (Date.now() - start) / 1000;
    timings[scenario] = (timings[scenario] ?? 0) + seconds;
    foreignCoreSeconds[scenario] = (foreignCoreSeconds[scenario] ?? 0) + noise.take() * seconds;
  }
}

try {
  const machine = await describeMachine(redis);
  const pid = await redisPid(redis);
  const report = <R>(scenario: string, results: R[]): ScenarioReport<R> => ({ scenario, mode, machine, results });
  console.log(`bench (${mode}): ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, redis ${machine.redis}`);

  const fanout: FanoutResult[] = [];
  const saturation: SaturationResult[] = [];
  for (const name of runs("fanout") ? SYSTEMS : []) {
    console.log(
      `fanout: ${name}: ${fanoutParams.subscribers} subscribers, ${fanoutParams.rate} events/s for ${fanoutParams.seconds} s` +
        `${saturationParams.setup ? "" : ", then the saturation ramp"} ...`,
    );
    const separate = saturationParams.setup;
    const result = await timed(separate ? "fanout" : "fanout + saturation", () =>
      withSystem(name, { nodes: 2 }, (system) =>
        runFanout(system, fanoutParams, pid, (continuation) =>
          separate ? Promise.resolve(undefined) : runSaturation(continuation, saturationParams),
        ),
      ),
    );
    fanout.push(result.fanout);
    const l = result.fanout.latencyMs;
    const c = result.fanout.contentCheck;
    console.log(
      `fanout: ${name}: ${Math.round(result.fanout.deliveriesPerSecond)} deliveries/s, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ` +
        `max ${l.max.toFixed(2)} ms, losses ${result.fanout.losses}, server ${result.fanout.serverCpuMicrosPerDelivery.toFixed(2)} µs/delivery, ` +
        `content ${c.ok ? "ok" : "NOT ok"} (${c.checked} messages on ${c.clients} ${c.client} clients${c.problems[0] ? `; ${c.problems[0]}` : ""})`,
    );
    let ramp = result.continued;
    if (separate) {
      console.log(
        `saturation: ${name}: ${separate.subscribers} subscribers from ${separate.rate} events/s, steps of ${saturationParams.stepSeconds} s ...`,
      );
      ramp = (
        await timed("saturation", () =>
          withSystem(name, { nodes: 2 }, (system) =>
            runFanout(system, separate, pid, (continuation) => runSaturation(continuation, saturationParams)),
          ),
        )
      ).continued;
    }
    if (!ramp) continue;
    saturation.push(ramp);
    for (const step of ramp.steps) {
      console.log(
        `saturation: ${name}: ${step.rate.toFixed(1)} events/s (${step.kind}): ${Math.round(step.deliveriesPerSecond)} deliveries/s, ` +
          `p99 ${step.latencyMs.p99.toFixed(1)} ms, losses ${step.losses}, servers ${step.serverCoresBusy.toFixed(2)} cores, ` +
          `clients ${step.clientCoresBusy.toFixed(2)} cores${step.sustained ? "" : ` -- ${step.failure}`}`,
      );
    }
  }

  const ingest: IngestResult[] = [];
  for (const name of runs("ingest") ? SYSTEMS : []) {
    console.log(`ingest: ${name}: ${ingestParams.events} events per path ...`);
    const results = await timed("ingest", () =>
      withSystem(name, { nodes: 1 }, (system) => runIngest(system, ingestParams, { redisUrl: redisServer.url, redisPid: pid })),
    );
    ingest.push(...results);
    for (const r of results) {
      console.log(
        `ingest: ${name} ${r.path}: ${Math.round(r.eventsPerSecond)} events/s, server ${r.serverCpuMicrosPerEvent.toFixed(1)} ` +
          `redis ${r.redisCpuMicrosPerEvent.toFixed(1)} producer ${r.producerCpuMicrosPerEvent.toFixed(1)} µs/event, p99 ${r.latencyMs.p99.toFixed(1)} ms, losses ${r.losses}`,
      );
    }
  }

  const connections: ConnectionsResult[] = [];
  const plan = connectionsPlan(connectionsParams);
  if (plan.reduced) console.log(`connections: ${plan.reduced}`);
  for (const name of runs("connections") ? SYSTEMS : []) {
    console.log(`connections: ${name}: ${plan.params.connections} idle connections ...`);
    const result = await timed("connections", () => withSystem(name, { nodes: 1 }, (system) => runConnections(system, plan.params)));
    connections.push(result);
    console.log(
      `connections: ${name}: ${result.connected} connected (${result.connectFailures} failed), ${Math.round(result.connectsPerSecond)}/s, ` +
        `${(result.rssBytesPerConnection / 1024).toFixed(2)} KB RSS and ${(result.heapBytesPerConnection / 1024).toFixed(2)} KB heap per connection`,
    );
  }
  const profiles: ConnectionsProfile[] = [];
  if (values.full && runs("connections")) {
    for (const name of ["hub", "plain"] as const) {
      console.log(`connections profile: ${name}: heap snapshots around ${CONNECTIONS_QUICK.connections} connections ...`);
      await redis.flushall();
      const profile = await timed("connections profile", () =>
        profileConnections(name, redisServer.url, { ...CONNECTIONS_QUICK, settleMs: 2_000 }),
      );
      profiles.push(profile);
      console.log(
        `connections profile: ${name}: ${(profile.liveHeapBytesPerConnection / 1024).toFixed(2)} KB live heap per connection; ` +
          profile.top
            .slice(0, 5)
            .map((r) => `${r.key} ${Math.round(r.bytesPerConnection)} B`)
            .join(", "),
      );
    }
  }

  const connections100k: Connections100kResult[] = [];
  for (const name of runs("connections-100k") ? CONNECTIONS_100K_SYSTEMS : []) {
    const p = connections100kParams;
    console.log(
      `connections-100k: ${name}: ${p.connections} idle connections over ${p.nodes} server processes, ${p.clientProcesses} client ` +
        `processes, ${p.localAddresses?.length ?? 1} source addresses; then ${p.broadcasts} broadcasts to all ...`,
    );
    await redis.flushall();
    const r = await timed("connections-100k", () => runConnections100k(name, p, redisServer.url));
    connections100k.push(r);
    console.log(
      `connections-100k: ${name}: ${r.connected} connected (${r.connectFailures} failed${r.connectError ? `: ${r.connectError}` : ""}), ` +
        `${Math.round(r.connectsPerSecond)}/s, ${(r.rssBytesPerConnection / 1024).toFixed(2)} KB RSS and ` +
        `${(r.heapBytesPerConnection / 1024).toFixed(2)} KB heap per connection (servers), clients ` +
        `${(r.clientRssBytesPerConnection / 1024).toFixed(2)} KB RSS per connection; broadcasts ` +
        r.broadcasts
          .map(
            (b) =>
              `${b.received}/${r.connected} p50 ${b.latencyMs.p50.toFixed(0)} p99 ${b.latencyMs.p99.toFixed(0)} max ${b.latencyMs.max.toFixed(0)} ms`,
          )
          .join(", ") +
        `; median p50 ${r.medianP50Ms.toFixed(1)} p99 ${r.medianP99Ms.toFixed(1)} ms; dropped ${r.dropped}; other work ${r.otherCores.toFixed(2)} cores` +
        (r.error ? `; ERROR: ${r.error}` : ""),
    );
  }

  const manyTopics: ManyTopicsResult[] = [];
  for (const name of runs("many-topics") ? MANY_TOPICS_SYSTEMS : []) {
    const p = manyTopicsParams;
    console.log(
      `many-topics: ${name}: ${p.users} users on their own topics over ${p.nodes} nodes, ${p.rate} events/s for ${p.seconds} s ...`,
    );
    const result = await timed("many-topics", () => withSystem(name, { nodes: p.nodes }, (system) => runManyTopics(system, p, pid)));
    manyTopics.push(result);
    const l = result.latencyMs;
    console.log(
      `many-topics: ${name}: ${Math.round(result.eventsPerSecond)} events/s, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ms, ` +
        `losses ${result.losses}, node CPU µs/event ${result.nodeCpuMicrosPerEvent.map((c) => c.toFixed(1)).join(" / ")}`,
    );
  }

  const clusterScaling: ScalingRun[] = [];
  let emitterThroughput: EmitterThroughputResult | undefined;
  if (runs("cluster-scaling")) {
    const p = clusterScalingParams;
    console.log(
      `cluster-scaling: a 6-process Redis Cluster; ${p.users} users on their own topics over ${p.gateways.join(", ")} gateways, ` +
        `${p.rate} events/s for ${p.seconds} s spread and ${p.seconds} s targeted, for each system ...`,
    );
    await timed("cluster-scaling", () =>
      withRedisCluster(async (cluster, pids) => {
        clusterScaling.push(...(await runClusterScaling(cluster, pids, p, (line) => console.log(line))));
        const e = p.emitter;
        console.log(`cluster-scaling: emitter: ${e.producers} producers x ${e.eventsPerProducer} events, one Redis then the cluster ...`);
        const t = await runEmitterThroughput(e, cluster, pids);
        emitterThroughput = t;
        console.log(
          `cluster-scaling: emitter: one Redis ${Math.round(t.single.eventsPerSecond)} events/s, cluster ${Math.round(t.cluster.eventsPerSecond)} ` +
            `events/s (${t.ratio.toFixed(2)}x); redis ${t.single.redisCoresBusy.toFixed(2)} / ${t.cluster.redisCoresBusy.toFixed(2)} cores, ` +
            `producers ${t.single.producerCoresBusy.toFixed(2)} / ${t.cluster.producerCoresBusy.toFixed(2)} cores`,
        );
      }),
    );
  }
  const clusterScalingReport = (): ClusterScalingReport => ({
    ...report("cluster-scaling", clusterScaling),
    ...(emitterThroughput ? { emitter: emitterThroughput } : {}),
    ...(timings["cluster-scaling"] ? { otherCores: (foreignCoreSeconds["cluster-scaling"] ?? 0) / timings["cluster-scaling"] } : {}),
  });

  const workers: WorkerResult[] = [];
  if (runs("worker")) {
    const p = workerParams;
    console.log(`worker: hub: ${p.queues} queues over ${p.workers} queue-worker processes, check-in timeout ${p.checkInTimeoutMs} ms ...`);
    const w = await timed("worker", () =>
      withSystem("hub", { nodes: 1 }, (system) => runWorker(system, p, { redisUrl: redisServer.url, redisPid: pid })),
    );
    workers.push(w);
    console.log(
      `worker: hub: setup ${Math.round(w.setup.appliedPerSecond)} commands/s applied (${w.setup.applied}/${w.setup.commands}), ` +
        `deadline phase ${Math.round(w.deadlinePhase.appliedPerSecond)} commands/s, lateness p50 ${w.latenessMs.p50.toFixed(1)} ` +
        `p99 ${w.latenessMs.p99.toFixed(1)} max ${w.latenessMs.max.toFixed(1)} ms, expired ${w.expiredObserved}/${p.queues}, ` +
        `duplicates ${w.duplicateExpirations}, idle worker CPU ${w.idleWorkerCpuMicrosPerSecond.map((c) => (c / 1000).toFixed(0)).join("/")} ms/s, ` +
        `warnings ${w.workerWarnings}${w.warningMessages.length ? ` (${w.warningMessages.join("; ")})` : ""}`,
    );
  }

  const slowConsumers: SlowConsumersResult[] = [];
  for (const name of runs("slow-consumers") ? SLOW_CONSUMERS_SYSTEMS : []) {
    const p = slowConsumersParams;
    console.log(
      `slow-consumers: ${name}: ${p.paused} paused and ${p.healthy} healthy clients on one topic, ${p.rate} events/s of ` +
        `${p.payloadBytes / 1024} KB for ${p.seconds} s, CLIENT_BUFFER_BYTES=${p.clientBufferBytes} ...`,
    );
    const r = await timed("slow-consumers", () =>
      withSystem(name, { nodes: 1, env: slowConsumersEnv(p) }, (system) => runSlowConsumers(system, p)),
    );
    slowConsumers.push(r);
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const slow = slowConsumerDisconnects(r);
    console.log(
      `slow-consumers: ${name}: RSS ${mb(r.rss.atPauseBytes)} -> max ${mb(r.rss.maxBytes)} MB (growth ${mb(r.rss.growthBytes)} MB, ` +
        `${mb(r.rss.growthBytesPerSecond)} MB/s; bound ${mb(r.boundBytes)} MB ${r.withinBound ? "held" : "exceeded"}), ` +
        `${mb(r.rss.afterCloseBytes)} MB after the paused clients closed; healthy p50 ${r.healthy.latencyMs.p50.toFixed(2)} ` +
        `p99 ${r.healthy.latencyMs.p99.toFixed(2)} ms (nobody paused: p99 ${r.control.latencyMs.p99.toFixed(2)} ms), ` +
        `losses ${r.healthy.losses + r.control.losses}; paused disconnected ${r.pausedDisconnected}/${r.pausedConnected}` +
        (name === "hub"
          ? ` (hub_slow_consumer_disconnects_total ${slow === undefined ? "absent" : slow})`
          : ` (disconnects ${JSON.stringify(r.serverAfter.disconnects ?? {})})`),
    );
  }

  const chat: ChatResult[] = [];
  for (const name of runs("chat") ? CHAT_SYSTEMS : []) {
    const p = chatParams;
    console.log(
      `chat: ${name}: ${p.conversations} conversations of ${p.usersPerConversation} users over ${p.nodes} nodes, ` +
        `1 message/s and 1 typing:start/s per user for ${p.seconds} s ...`,
    );
    await redis.flushall();
    const r = await timed("chat", () => runChat(name, p, { url: redisServer.url, pid }));
    chat.push(r);
    const l = r.latencyMs;
    const lag = r.streamLag;
    console.log(
      `chat: ${name}: ${r.connected} users connected (${r.connectFailures} failed), ${r.messagesSent} messages, ` +
        `${Math.round(r.deliveriesPerSecond)} deliveries/s to other members, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ` +
        `max ${l.max.toFixed(2)} ms, losses ${r.losses}, own copies ${r.ownCopies}, typing ${r.typingReceived}/${r.typingSent * (p.usersPerConversation - 1)}, ` +
        `publish failures ${r.publishFailures}${r.publishError ? ` (${r.publishError})` : ""}, server ${r.serverCpuMicrosPerDelivery.toFixed(2)} µs/delivery ` +
        `(net of idle ${r.netServerCpuMicrosPerDelivery.toFixed(2)}), servers ${r.serverCoresBusy.toFixed(2)} cores, clients ${r.clientCoresBusy.toFixed(2)} cores` +
        (lag ? `; stream lag p50 ${lag.lagMs.p50.toFixed(2)} p99 ${lag.lagMs.p99.toFixed(2)} ms over ${lag.entries} entries` : ""),
    );
  }

  const chatReport = (): ChatReport => ({
    ...report("chat", chat),
    ...(timings.chat ? { otherCores: (foreignCoreSeconds.chat ?? 0) / timings.chat } : {}),
  });

  const calls: CallsResult[] = [];
  for (const name of runs("calls") ? CALLS_SYSTEMS : []) {
    const p = callsParams;
    console.log(
      `calls: ${name}: ${p.calls} calls at ${p.callRate}/s (answered, ${p.candidates} candidates each way, hung up), then ` +
        `${p.ringing} calls at ${p.ringRate}/s left ringing with a ${p.ringTimeoutMs} ms ring timeout ...`,
    );
    const r = await timed("calls", () => runCalls(name, p, { url: redisServer.url, pid }));
    calls.push(r);
    const a = r.answered;
    const g = r.ring;
    const ms = (l: { p50: number; p99: number }) => `p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)}`;
    console.log(
      `calls: ${name}: ${a.established}/${a.connected} set up (${a.connectFailures} failed to connect), ${a.ended} ended, ` +
        `${a.callsPerSecond.toFixed(0)} calls/s; initiate ack ${ms(a.initiateAckMs)}, incoming ${ms(a.incomingMs)}, answer round trip ` +
        `${ms(a.answerRoundTripMs)}, ICE relay ${ms(a.iceRelayMs)}, end round trip ${ms(a.endRoundTripMs)} ms; ` +
        `${a.cpuMicrosPerCall.toFixed(0)} µs CPU per call (net of idle ${a.netCpuMicrosPerCall.toFixed(0)}: set-up ` +
        `${a.setupCpuMicrosPerCall.toFixed(0)}, tear-down ${a.teardownCpuMicrosPerCall.toFixed(0)}; servers ${a.serverCpuMicros.map((c) => (c / a.connected).toFixed(0)).join(" + ")}, ` +
        `redis ${(a.redisCpuMicros / a.connected).toFixed(0)}), clients ${a.clientCoresBusy.toFixed(2)} cores; lost ${a.lost}, duplicated ${a.duplicated}, refused ${a.refused}` +
        `${a.firstRefusal ? ` (${a.firstRefusal})` : ""}, unexpected ${JSON.stringify(a.unexpected)}`,
    );
    console.log(
      `calls: ${name}: ring: ${g.missed}/${g.connected} missed at both parties; lateness p50 ${g.latenessMs.p50.toFixed(2)} ` +
        `p99 ${g.latenessMs.p99.toFixed(2)} max ${g.latenessMs.max.toFixed(2)} ms; ${g.cpuMicrosPerCall.toFixed(0)} µs CPU per call ` +
        `(net of idle ${g.netCpuMicrosPerCall.toFixed(0)}); ` +
        `lost ${g.lost}, duplicated ${g.duplicated}, refused ${g.refused}${g.firstRefusal ? ` (${g.firstRefusal})` : ""}, ` +
        `unexpected ${JSON.stringify(g.unexpected)}` +
        (g.serverLateness
          ? `; gateways' deadline lateness mean ${((g.serverLateness.sumSeconds / g.serverLateness.count) * 1000).toFixed(1)} ms over ${g.serverLateness.count}`
          : ""),
    );
  }
  const callsReport = (): CallsReport => ({
    ...report("calls", calls),
    ...(timings.calls ? { otherCores: (foreignCoreSeconds.calls ?? 0) / timings.calls } : {}),
  });

  const wallSeconds = (Date.now() - began) / 1000;
  const took = `${mode}, ${Math.round(wallSeconds)} s: ${Object.entries(timings)
    .map(([k, v]) => `${k} ${Math.round(v)} s (other work ${((foreignCoreSeconds[k] ?? 0) / v).toFixed(2)} cores)`)
    .join(", ")}`;
  // --only <scenarios> --save: those scenarios' results replace their own files only; the others' stay as the last run wrote them.
  const saveOne: Record<string, () => ScenarioReport<unknown>> = {
    fanout: () => report("fanout", fanout),
    saturation: () => report("saturation", saturation),
    ingest: () => report("ingest", ingest),
    connections: () => ({
      ...report("connections", connections),
      ...(plan.reduced ? { reduced: plan.reduced } : {}),
      ...(profiles.length ? { profiles } : {}),
    }),
    "connections-100k": () => report("connections-100k", connections100k),
    "many-topics": () => report("many-topics", manyTopics),
    "slow-consumers": () => report("slow-consumers", slowConsumers),
    "cluster-scaling": clusterScalingReport,
    chat: chatReport,
    calls: callsReport,
  };
  // fanout runs the saturation ramp too.
  const chosen = only ? [...only, ...(only.has("fanout") ? ["saturation"] : [])].filter((name) => saveOne[name]) : [];
  if (values.save && chosen.length > 0) {
    for (const name of chosen) await writeScenario(RESULTS_DIR, (saveOne[name] as () => ScenarioReport<unknown>)());
    const ran = Object.keys(timings);
    await mergeRunTimings(
      RESULTS_DIR,
      Object.fromEntries(ran.map((k) => [k, timings[k] as number])),
      Object.fromEntries(ran.map((k) => [k, (foreignCoreSeconds[k] ?? 0) / (timings[k] ?? 1)])),
      { date: machine.date, mode, loadAverage: machine.loadAverage },
    );
    await renderFromResults(RESULTS_DIR);
    console.log(`bench: wrote ${chosen.map((name) => `${RESULTS_DIR}/${name}.json`).join(", ")} and README.md (${took})`);
  } else if (only) {
    console.log(`bench: --only ${values.only}: no results written (${took})`);
  } else {
    const otherCores = Object.fromEntries(Object.entries(foreignCoreSeconds).map(([k, v]) => [k, v / (timings[k] ?? 1)]));
    await writeReport(RESULTS_DIR, { mode, machine, wallSeconds, timings, otherCores }, [
      report("fanout", fanout),
      report("saturation", saturation),
      report("ingest", ingest),
      {
        ...report("connections", connections),
        ...(plan.reduced ? { reduced: plan.reduced } : {}),
        ...(profiles.length ? { profiles } : {}),
      },
      report("connections-100k", connections100k),
      report("many-topics", manyTopics),
      clusterScalingReport(),
      report("worker", workers),
      report("slow-consumers", slowConsumers),
      chatReport(),
      callsReport(),
    ]);
    console.log(
      `bench: wrote ${RESULTS_DIR}/{fanout,saturation,ingest,connections,connections-100k,many-topics,cluster-scaling,worker,slow-consumers,chat,calls}.json and README.md (${took})`,
    );
  }
  const unclean =
    fanout.some((r) => r.losses !== 0 || !r.contentCheck.ok) ||
    workers.some((w) => w.missingExpirations !== 0 || w.duplicateExpirations !== 0) ||
    ingest.some((r) => r.losses !== 0 || r.publishFailures !== 0) ||
    connections.some((r) => r.connectFailures !== 0) ||
    connections100k.some((r) => r.error || r.connectFailures + r.dropped !== 0 || r.broadcasts.some((b) => b.lost !== 0)) ||
    manyTopics.some((r) => r.losses !== 0) ||
    clusterScaling.some((r) => r.spread.losses + r.targeted.losses !== 0 || r.connectFailures !== 0) ||
    slowConsumers.some((r) => r.healthy.losses + r.control.losses !== 0 || r.connectFailures !== 0) ||
    chat.some((r) => r.losses !== 0 || r.connectFailures !== 0 || r.publishFailures !== 0) ||
    calls.some((r) =>
      [r.answered, r.ring].some((p) => p.lost + p.duplicated + p.refused + p.connectFailures + Object.keys(p.unexpected).length !== 0),
    );
  if (unclean) process.exitCode = 1;
} finally {
  redis.disconnect();
  await redisServer.stop();
}
