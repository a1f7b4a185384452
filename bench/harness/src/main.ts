// pnpm bench [--full]: starts its own redis-server, runs each scenario against the hub and the
// baselines one after another, and writes bench/results.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRedis } from "@hub/devkit";
import { Redis } from "ioredis";
import { CONNECTIONS_FULL, CONNECTIONS_QUICK, type ConnectionsResult, connectionsBlocker, runConnections } from "./connections.js";
import { FANOUT_FULL, FANOUT_QUICK, type FanoutResult, runFanout } from "./fanout.js";
import { INGEST_FULL, INGEST_QUICK, type IngestResult, runIngest } from "./ingest.js";
import { describeMachine, redisPid } from "./machine.js";
import { MANY_TOPICS_FULL, MANY_TOPICS_QUICK, MANY_TOPICS_SYSTEMS, type ManyTopicsResult, runManyTopics } from "./many-topics.js";
import { writeReport } from "./report.js";
import { type SystemName, type SystemUnderTest, startSystem } from "./systems.js";

const RESULTS_DIR = fileURLToPath(new URL("../../results", import.meta.url));
const SYSTEMS: SystemName[] = ["hub", "plain", "raw"];

const { values } = parseArgs({ options: { full: { type: "boolean", default: false } } });
const mode = values.full ? "full" : "quick";
const fanoutParams = values.full ? FANOUT_FULL : FANOUT_QUICK;
const ingestParams = values.full ? INGEST_FULL : INGEST_QUICK;
const connectionsParams = values.full ? CONNECTIONS_FULL : CONNECTIONS_QUICK;
const manyTopicsParams = values.full ? MANY_TOPICS_FULL : MANY_TOPICS_QUICK;

// Bounded even if something hangs; child processes are killed on exit (devkit's track()).
const hardLimit = setTimeout(
  () => {
    console.error(`bench: still running after the ${mode} limit, giving up`);
    process.exit(2);
  },
  (values.full ? 25 : 5) * 60_000,
);
hardLimit.unref();

const redisServer = await startRedis();
const redis = new Redis(redisServer.url);

/** Starts a fresh system on an empty Redis, runs `body` and stops it. */
async function withSystem<T>(name: SystemName, nodes: number, body: (system: SystemUnderTest) => Promise<T>): Promise<T> {
  await redis.flushall();
  const system = await startSystem(name, { redisUrl: redisServer.url, nodes });
  try {
    return await body(system);
  } finally {
    await system.close();
  }
}

try {
  const machine = await describeMachine(redis);
  const pid = await redisPid(redis);
  console.log(`bench (${mode}): ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, redis ${machine.redis}`);

  const fanout: FanoutResult[] = [];
  for (const name of SYSTEMS) {
    console.log(
      `fanout: ${name}: ${fanoutParams.subscribers} subscribers, ${fanoutParams.rate} events/s for ${fanoutParams.seconds} s ...`,
    );
    const result = await withSystem(name, 2, (system) => runFanout(system, fanoutParams, pid));
    fanout.push(result);
    const l = result.latencyMs;
    console.log(
      `fanout: ${name}: ${Math.round(result.deliveriesPerSecond)} deliveries/s, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ` +
        `max ${l.max.toFixed(2)} ms, losses ${result.losses}, server ${result.serverCpuMicrosPerDelivery.toFixed(2)} µs/delivery`,
    );
  }

  const ingest: IngestResult[] = [];
  for (const name of SYSTEMS) {
    console.log(`ingest: ${name}: ${ingestParams.events} events per path ...`);
    const results = await withSystem(name, 1, (system) => runIngest(system, ingestParams, { redisUrl: redisServer.url, redisPid: pid }));
    ingest.push(...results);
    for (const r of results) {
      console.log(
        `ingest: ${name} ${r.path}: ${Math.round(r.eventsPerSecond)} events/s, server ${r.serverCpuMicrosPerEvent.toFixed(1)} ` +
          `redis ${r.redisCpuMicrosPerEvent.toFixed(1)} producer ${r.producerCpuMicrosPerEvent.toFixed(1)} µs/event, losses ${r.losses}`,
      );
    }
  }

  const connections: ConnectionsResult[] = [];
  const blocker = connectionsBlocker(connectionsParams);
  if (blocker) {
    console.log(`connections: not run: ${blocker}`);
  } else {
    for (const name of SYSTEMS) {
      console.log(`connections: ${name}: ${connectionsParams.connections} idle connections ...`);
      const result = await withSystem(name, 1, (system) => runConnections(system, connectionsParams));
      connections.push(result);
      console.log(
        `connections: ${name}: ${result.connected} connected (${result.connectFailures} failed), ${Math.round(result.connectsPerSecond)}/s, ` +
          `${(result.rssBytesPerConnection / 1024).toFixed(2)} KB RSS and ${(result.heapBytesPerConnection / 1024).toFixed(2)} KB heap per connection`,
      );
    }
  }

  const manyTopics: ManyTopicsResult[] = [];
  for (const name of MANY_TOPICS_SYSTEMS) {
    const p = manyTopicsParams;
    console.log(
      `many-topics: ${name}: ${p.users} users on their own topics over ${p.nodes} nodes, ${p.rate} events/s for ${p.seconds} s ...`,
    );
    const result = await withSystem(name, p.nodes, (system) => runManyTopics(system, p, pid));
    manyTopics.push(result);
    const l = result.latencyMs;
    console.log(
      `many-topics: ${name}: ${Math.round(result.eventsPerSecond)} events/s, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ms, ` +
        `losses ${result.losses}, node CPU µs/event ${result.nodeCpuMicrosPerEvent.map((c) => c.toFixed(1)).join(" / ")}`,
    );
  }

  await writeReport(RESULTS_DIR, {
    mode,
    machine,
    fanout: { scenario: "fanout", mode, machine, results: fanout },
    ingest: { scenario: "ingest", mode, machine, results: ingest },
    connections: { scenario: "connections", mode, machine, ...(blocker ? { notRun: blocker } : {}), results: connections },
    manyTopics: { scenario: "many-topics", mode, machine, results: manyTopics },
  });
  console.log(`bench: wrote ${RESULTS_DIR}/{fanout,ingest,connections,many-topics}.json and README.md`);
  const unclean =
    fanout.some((r) => r.losses !== 0) ||
    ingest.some((r) => r.losses !== 0 || r.publishFailures !== 0) ||
    connections.some((r) => r.connectFailures !== 0) ||
    manyTopics.some((r) => r.losses !== 0);
  if (unclean) process.exitCode = 1;
} finally {
  redis.disconnect();
  await redisServer.stop();
}
