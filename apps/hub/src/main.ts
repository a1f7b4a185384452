import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { REPO_ROOT, serviceToken, spawnHubProcess, startRedis, startRedisCluster, stopChild, userToken } from "@hub/devkit";
import { runGateway } from "@hub/gateway";
import {
  ConfigError,
  createLogger,
  describeRedis,
  exitOnSignal,
  fillDevSecrets,
  guardProcess,
  loadConfigOrExit,
  readMetricsPortIfSet,
} from "@hub/runtime";
import { printBanner } from "./banner.js";
import { parseLaunchOptions } from "./launch-options.js";

const envFile = resolve(REPO_ROOT, ".env");
if (existsSync(envFile)) process.loadEnvFile(envFile);

let cluster: number;
let redisCluster: boolean;
try {
  ({ cluster, redisCluster } = parseLaunchOptions(process.argv.slice(2), process.env));
} catch (error) {
  const prefix = error instanceof ConfigError ? "invalid configuration: " : "";
  process.stderr.write(`start: ${prefix}${(error as Error).message}\n`);
  process.exit(1);
}

// The web console (/console) loads the client SDK's browser bundle: build it once if missing.
const consoleBundle = resolve(REPO_ROOT, "packages/client/dist/hub-client.browser.js");
if (!existsSync(consoleBundle)) {
  const built = spawnSync(process.execPath, [resolve(REPO_ROOT, "packages/client/scripts/build.mjs")], { stdio: "inherit" });
  if (built.status !== 0) process.stderr.write("start: could not build the client bundle; /console will say how to build it\n");
}

const generated = fillDevSecrets(process.env);
const config = loadConfigOrExit(process.env, "gateway");
const logger = createLogger("hub", config.logLevel, config.nodeId);
guardProcess(logger);
if (generated.length > 0)
  logger.warn({ generated }, "generated random development secrets for this run; set them in .env to keep tokens valid across restarts");

async function devTokens(): Promise<{ userToken: string | undefined; serviceToken: string | undefined }> {
  if (config.nodeEnv === "production" || !config.auth.jwtSecret) return { userToken: undefined, serviceToken: undefined };
  const day = { expiresIn: 86_400 };
  return {
    userToken: await userToken({ sub: "dev-user", org_id: "dev-org" }, { ...day, secret: config.auth.jwtSecret }),
    serviceToken: await serviceToken("dev-console", { ...day, secret: config.auth.internalSecret }),
  };
}

// The worker's /metrics port: METRICS_PORT when set, else a free one (its "queue-worker started" line names it).
// loadConfigOrExit validated it already.
const WORKER_ENV = { HUB_NODE_ID: "worker-1", METRICS_PORT: String(readMetricsPortIfSet(process.env) ?? 0) };

async function runSingle(): Promise<void> {
  const { gateway, address } = await runGateway(config, logger);
  // On Redis the inhouse queues need their worker; the memory engine runs them in the gateway.
  const worker =
    config.engine === "redis"
      ? spawnHubProcess("apps/queue-worker/src/main.ts", { ...process.env, ...WORKER_ENV }, { echo: true })
      : undefined;
  await gateway.ready();
  const url = `http://localhost:${address.port}`;
  printBanner({
    mode: `single node, ${config.engine} engine${worker ? " + 1 worker" : ""}`,
    gateways: [url],
    redisUrl: config.redis ? describeRedis(config.redis.target) : undefined,
    ...(await devTokens()),
  });
  exitOnSignal(logger, config.shutdownTimeoutMs, async () => {
    await Promise.all([gateway.close(), worker ? stopChild(worker.child) : undefined]);
  });
}

async function runCluster(nodes: number): Promise<void> {
  let redis: { env: Record<string, string>; describe: string; stop(): Promise<void> };
  try {
    redis = redisCluster ? await localRedisCluster() : await localRedis();
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    process.stderr.write(
      `start: ${missing ? "redis-server is not on PATH; install it (apt-get install redis-server) for --cluster" : (error as Error).message}\n`,
    );
    process.exit(1);
  }
  logger.info({ redis: redis.describe }, "local Redis started (no persistence)");
  const env = { ...process.env, ...redis.env, HUB_ENGINE: "redis" };
  const gateways = Array.from({ length: nodes }, (_, i) =>
    spawnHubProcess("apps/gateway/src/main.ts", { ...env, PORT: String(config.port + i), HUB_NODE_ID: `gateway-${i + 1}` }, { echo: true }),
  );
  const worker = spawnHubProcess("apps/queue-worker/src/main.ts", { ...env, ...WORKER_ENV }, { echo: true });
  const children = [...gateways, worker];

  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    await Promise.all(children.map((c) => stopChild(c.child)));
    await redis.stop();
  };
  for (const child of children) {
    child.child.once("exit", (code, signal) => {
      if (stopping) return;
      logger.error(
        { pid: child.child.pid, code, signal, stderr: child.stderr().slice(-2000) },
        "a hub process exited; stopping the cluster",
      );
      void stopAll().then(() => process.exit(1));
    });
  }
  exitOnSignal(logger, config.shutdownTimeoutMs, stopAll);

  await Promise.all(gateways.map((g) => g.waitForLog((line) => line.msg === "ready")));
  printBanner({
    mode: `local cluster of ${nodes} gateways + 1 worker on ${redisCluster ? "a 6-process Redis Cluster (sharded pub/sub)" : "one redis-server"}`,
    gateways: gateways.map((_, i) => `http://localhost:${config.port + i}`),
    redisUrl: redis.describe,
    ...(await devTokens()),
  });
}

try {
  await (cluster > 0 ? runCluster(cluster) : runSingle());
} catch (error) {
  logger.fatal({ err: error }, "hub failed to start");
  process.exit(1);
}

/** One throwaway redis-server. */
async function localRedis() {
  const server = await startRedis();
  return { env: { REDIS_URL: server.url, REDIS_CLUSTER_NODES: "", REDIS_SENTINELS: "" }, describe: server.url, stop: () => server.stop() };
}

/** A throwaway Redis Cluster: 3 masters + 3 replicas; the hub's default on it is sharded pub/sub. */
async function localRedisCluster() {
  const redisCluster = await startRedisCluster();
  return {
    env: { REDIS_CLUSTER_NODES: redisCluster.seeds, REDIS_URL: "", REDIS_SENTINELS: "" },
    describe: `cluster ${redisCluster.seeds}`,
    stop: () => redisCluster.stop(),
  };
}
