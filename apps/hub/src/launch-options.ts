import { MAX_LOCAL_NODES, readHubNodes } from "@hub/runtime";

/** What `pnpm start` was asked for. */
export interface LaunchOptions {
  /** Gateways of a local cluster; 0 runs the single embedded node. */
  cluster: number;
  /** `--redis-cluster`: the local cluster runs on a throwaway 6-process Redis Cluster (sharded pub/sub). */
  redisCluster: boolean;
}

const USAGE = "usage: pnpm start [--cluster N [--redis-cluster]]   (or HUB_NODES=N)";

/**
 * Parses `--cluster N` / `--cluster=N` (a `--` separator is skipped), else `HUB_NODES` (read by
 * packages/runtime); the flag wins over the variable. `--redis-cluster` puts that local cluster on
 * a throwaway Redis Cluster. Throws an error with a one-line message.
 */
export function parseLaunchOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LaunchOptions {
  let flag: string | undefined;
  let redisCluster = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") continue;
    if (arg === "--redis-cluster") redisCluster = true;
    else if (arg === "--cluster") {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("-")) throw new Error(`--cluster needs a number of gateways; ${USAGE}`);
      flag = next;
      i++;
    } else if (arg.startsWith("--cluster=")) flag = arg.slice("--cluster=".length);
    else throw new Error(`unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
  }
  const cluster = flag === undefined ? (readHubNodes(env) ?? 0) : /^\d+$/.test(flag) ? Number(flag) : Number.NaN;
  if (flag !== undefined && !(cluster >= 1 && cluster <= MAX_LOCAL_NODES)) {
    throw new Error(`--cluster takes a number of gateways from 1 to ${MAX_LOCAL_NODES}, got ${JSON.stringify(flag)}; ${USAGE}`);
  }
  if (redisCluster && cluster === 0) throw new Error(`--redis-cluster runs a local cluster: add --cluster N; ${USAGE}`);
  return { cluster, redisCluster };
}
