/** What `pnpm start` was asked for. */
export interface LaunchOptions {
  /** Gateways of a local cluster; 0 runs the single embedded node. */
  cluster: number;
}

const USAGE = "usage: pnpm start [--cluster N]   (or HUB_NODES=N)";

/** Parses `--cluster N` / `--cluster=N` and `HUB_NODES`; throws a one-line usage error. */
export function parseLaunchOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LaunchOptions {
  let raw: string | undefined = env.HUB_NODES?.trim() || undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") continue;
    if (arg === "--cluster") raw = argv[++i];
    else if (arg.startsWith("--cluster=")) raw = arg.slice("--cluster=".length);
    else throw new Error(`unknown argument "${arg}"; ${USAGE}`);
  }
  if (raw === undefined) return { cluster: 0 };
  const cluster = Number(raw);
  if (!Number.isInteger(cluster) || cluster < 1 || cluster > 16)
    throw new Error(`--cluster takes a number of gateways from 1 to 16; ${USAGE}`);
  return { cluster };
}
