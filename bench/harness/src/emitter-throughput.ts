import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type RedisCluster, startRedis } from "@hub/devkit";
import { Redis } from "ioredis";
import { askChild, closeChild, forkScript } from "./load/child-ipc.js";
import type { FromProducer, ProducerTarget } from "./load/emitter-producer-messages.js";
import { redisPid } from "./machine.js";
import { processCpuMicros } from "./process-cpu.js";
import { BENCH_ORG } from "./systems.js";

const IDLE_MS = 1_000;
const PRODUCER = fileURLToPath(new URL("./load/emitter-producer.ts", import.meta.url));

export interface EmitterThroughputParams {
  /** Producer processes publishing at once through `createHubEmitter`. */
  producers: number;
  eventsPerProducer: number;
  warmupEventsPerProducer: number;
  /** Publishes in flight per producer. */
  concurrency: number;
  /** Topics: each event goes to `notifications:u<i>` of a user picked at random among this many. */
  users: number;
  payloadBytes: number;
}

export const EMITTER_THROUGHPUT_QUICK: EmitterThroughputParams = {
  producers: 2,
  eventsPerProducer: 15_000,
  warmupEventsPerProducer: 2_000,
  concurrency: 256,
  users: 10_000,
  payloadBytes: 200,
};
export const EMITTER_THROUGHPUT_FULL: EmitterThroughputParams = {
  ...EMITTER_THROUGHPUT_QUICK,
  eventsPerProducer: 100_000,
  warmupEventsPerProducer: 5_000,
};

/** The producers against one Redis deployment. */
export interface EmitterThroughputRun {
  target: "single" | "cluster";
  /** Redis processes that take writes: 1, or the cluster's masters. */
  masters: number;
  events: number;
  failed: number;
  /** Events over the time from the first producer's first measured publish to the last one settling. */
  eventsPerSecond: number;
  windowSeconds: number;
  producerCpuMicrosPerEvent: number;
  /** Every redis-server of the deployment (the cluster's replicas included), per event. */
  redisCpuMicrosPerEvent: number;
  producerCoresBusy: number;
  redisCoresBusy: number;
  /** The busiest redis-server's share of a core: one process runs on one core at most. */
  busiestRedisCoresBusy: number;
  /**
   * Derived, not measured: events/s at which the busiest redis-server would fill its core, if
   * producers had cores enough (eventsPerSecond / busiestRedisCoresBusy). Redis's own ceiling.
   */
  redisBoundEventsPerSecond: number;
}

export interface EmitterThroughputResult {
  params: EmitterThroughputParams;
  single: EmitterThroughputRun;
  cluster: EmitterThroughputRun;
  /** cluster events/s over single events/s. */
  ratio: number;
  /** cluster over single of `redisBoundEventsPerSecond`: what the cluster's masters allow on a machine with cores to spare. */
  redisBoundRatio: number;
}

/** `producers` processes publishing through the emitter SDK as fast as they go: one Redis, then the cluster. */
export async function runEmitterThroughput(
  params: EmitterThroughputParams,
  cluster: RedisCluster,
  clusterPids: number[],
): Promise<EmitterThroughputResult> {
  const server = await startRedis();
  let single: EmitterThroughputRun;
  try {
    const client = new Redis(server.url);
    const pid = await redisPid(client).finally(() => client.disconnect());
    single = await measure(params, { kind: "single", url: server.url }, [pid], 1);
  } finally {
    await server.stop();
  }
  await cluster.flush();
  const masters = cluster.nodes.length / 2;
  const onCluster = await measure(params, { kind: "cluster", nodes: cluster.startupNodes }, clusterPids, masters);
  return {
    params,
    single,
    cluster: onCluster,
    ratio: onCluster.eventsPerSecond / single.eventsPerSecond,
    redisBoundRatio: onCluster.redisBoundEventsPerSecond / single.redisBoundEventsPerSecond,
  };
}

async function measure(
  params: EmitterThroughputParams,
  target: ProducerTarget,
  redisPids: number[],
  masters: number,
): Promise<EmitterThroughputRun> {
  const children = Array.from({ length: params.producers }, () => forkScript(PRODUCER));
  try {
    const assignment = {
      target,
      org: BENCH_ORG,
      events: params.eventsPerProducer,
      warmupEvents: params.warmupEventsPerProducer,
      concurrency: params.concurrency,
      users: params.users,
      payloadBytes: params.payloadBytes,
    };
    await Promise.all(children.map((child) => askChild<FromProducer>(child, { type: "start", assignment }, (r) => r.type === "ready")));
    // The cluster bus keeps the nodes busy with nothing published: measured, and subtracted below.
    const idleBefore = redisPids.map(processCpuMicros);
    await sleep(IDLE_MS);
    const idle = redisPids.map((pid, i) => ((processCpuMicros(pid) - (idleBefore[i] ?? 0)) * 1000) / IDLE_MS);
    const redisBefore = redisPids.map(processCpuMicros);
    const done = await Promise.all(
      children.map((child) =>
        askChild<FromProducer>(child, { type: "go" }, (r) => r.type === "done", 300_000).then((r) => {
          if (r.type !== "done") throw new Error("emitter-producer: unexpected answer");
          return r;
        }),
      ),
    );
    const windowSeconds = (Math.max(...done.map((d) => d.endedAt)) - Math.min(...done.map((d) => d.startedAt))) / 1000;
    const perNode = redisPids.map(processCpuMicros).map((after, i) => after - (redisBefore[i] ?? 0) - (idle[i] ?? 0) * windowSeconds);
    const redisMicros = perNode.reduce((n, c) => n + c, 0);
    const busiest = Math.max(...perNode) / 1e6 / windowSeconds;
    const events = done.reduce((n, d) => n + d.published, 0);
    const producerMicros = done.reduce((n, d) => n + d.cpuMicros, 0);
    return {
      target: target.kind,
      masters,
      events,
      failed: done.reduce((n, d) => n + d.failed, 0),
      eventsPerSecond: events / windowSeconds,
      windowSeconds,
      producerCpuMicrosPerEvent: producerMicros / events,
      redisCpuMicrosPerEvent: redisMicros / events,
      producerCoresBusy: producerMicros / 1e6 / windowSeconds,
      redisCoresBusy: redisMicros / 1e6 / windowSeconds,
      busiestRedisCoresBusy: busiest,
      redisBoundEventsPerSecond: events / windowSeconds / busiest,
    };
  } finally {
    await Promise.all(children.map((child) => closeChild(child)));
  }
}
