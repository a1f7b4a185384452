import { MAX_LOCAL_NODES, readHubNodes } from "@hub/runtime";

/** What `pnpm start` was asked for. */
export interface LaunchOptions {
  /** Gateways of a local cluster; 0 runs the single embedded node. */
  cluster: number;
}

const USAGE = "usage: pnpm start [--cluster N]   (or HUB_NODES=N)";

/**
 * Parses `--cluster N` / `--cluster=N` (a `--` separator is skipped), else `HUB_NODES` (read by
 * packages/runtime); the flag wins over the variable. Throws an error with a one-line message.
 */
export function parseLaunchOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LaunchOptions {
  let flag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") continue;
    if (arg === "--cluster") {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("-")) throw new Error(`--cluster needs a number of gateways; ${USAGE}`);
      flag = next;
      i++;
    } else if (arg.startsWith("--cluster=")) flag = arg.slice("--cluster=".length);
    else throw new Error(`unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
  }
  if (flag === undefined) return { cluster: readHubNodes(env) ?? 0 };
  const cluster = /^\d+$/.test(flag) ? Number(flag) : Number.NaN;
  if (!(cluster >= 1 && cluster <= MAX_LOCAL_NODES)) {
    throw new Error(`--cluster takes a number of gateways from 1 to ${MAX_LOCAL_NODES}, got ${JSON.stringify(flag)}; ${USAGE}`);
  }
  return { cluster };
}
