// pnpm bench [--full]: starts its own redis-server, runs each scenario against the hub and the
// baselines one after another, and writes bench/results.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRedis } from "@hub/devkit";
import { Redis } from "ioredis";
import { FANOUT_FULL, FANOUT_QUICK, type FanoutResult, runFanout } from "./fanout.js";
import { describeMachine, redisPid } from "./machine.js";
import { writeFanoutReport } from "./report.js";
import { type SystemName, startSystem } from "./systems.js";

const RESULTS_DIR = fileURLToPath(new URL("../../results", import.meta.url));
const SYSTEMS: SystemName[] = ["hub", "plain", "raw"];

const { values } = parseArgs({ options: { full: { type: "boolean", default: false } } });
const mode = values.full ? "full" : "quick";
const params = values.full ? FANOUT_FULL : FANOUT_QUICK;

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
try {
  const machine = await describeMachine(redis);
  const pid = await redisPid(redis);
  console.log(`bench (${mode}): ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, redis ${machine.redis}`);
  const results: FanoutResult[] = [];
  for (const name of SYSTEMS) {
    await redis.flushall();
    const system = await startSystem(name, { redisUrl: redisServer.url });
    try {
      console.log(`fanout: ${name}: ${params.subscribers} subscribers, ${params.rate} events/s for ${params.seconds} s ...`);
      const result = await runFanout(system, params, pid);
      results.push(result);
      const l = result.latencyMs;
      console.log(
        `fanout: ${name}: ${Math.round(result.deliveriesPerSecond)} deliveries/s, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ` +
          `max ${l.max.toFixed(2)} ms, losses ${result.losses}, server ${result.serverCpuMicrosPerDelivery.toFixed(2)} µs/delivery`,
      );
    } finally {
      await system.close();
    }
  }
  await writeFanoutReport(RESULTS_DIR, { scenario: "fanout", mode, machine, results });
  console.log(`bench: wrote ${RESULTS_DIR}/fanout.json and README.md`);
  if (results.some((r) => r.losses !== 0)) process.exitCode = 1;
} finally {
  redis.disconnect();
  await redisServer.stop();
}
