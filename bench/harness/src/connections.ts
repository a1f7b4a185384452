import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ClientFleet } from "./load/client-fleet.js";
import { processRssBytes } from "./process-memory.js";
import type { SystemName, SystemUnderTest } from "./systems.js";

export interface ConnectionsParams {
  /** Idle connections (connected and subscribed to one topic) on one server process. */
  connections: number;
  /** Opened first and kept open, before the "before" figures: loads the code paths one connection needs. */
  warmupConnections: number;
  /** Waited after the last connection before the "after" figures. */
  settleMs: number;
  clientProcesses: number;
  /** Source addresses (127.0.0.x) the clients use in turn, past one address's ephemeral port range. */
  localAddresses?: string[];
}

export const CONNECTIONS_QUICK: ConnectionsParams = { connections: 10_000, warmupConnections: 100, settleMs: 1_500, clientProcesses: 2 };
export const CONNECTIONS_FULL: ConnectionsParams = { connections: 100_000, warmupConnections: 100, settleMs: 5_000, clientProcesses: 4 };

export interface MemoryFigures {
  /** VmRSS from /proc/<pid>/status. */
  rssBytes: number;
  /** V8 heap used: the hub's `hub_nodejs_heap_size_used_bytes` from /metrics, the baselines' process.memoryUsage().heapUsed from /stats. */
  heapUsedBytes: number;
}

export interface ConnectionsResult {
  system: SystemName;
  params: ConnectionsParams;
  connected: number;
  connectFailures: number;
  connectError?: string;
  /** Connections per second while the fleet connected (handshake, CONNECT, subscribe ack). */
  connectsPerSecond: number;
  before: MemoryFigures;
  after: MemoryFigures;
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
}

/** File descriptors a process needs beyond its connections (Redis, listeners, the runtime). */
export const FD_MARGIN = 1_000;
/** What full mode asks for when it raises the open-file limit. */
const RAISED_LIMIT = 200_000;
const RAISED_ENV = "BENCH_OPEN_FILES_RAISED";

/** This process's open-file limit (`Max open files` of /proc/self/limits). */
export function openFileLimit(): number {
  const limits = readFileSync("/proc/self/limits", "utf8");
  return Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Number.POSITIVE_INFINITY);
}

function ephemeralPorts(): number {
  const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  return (high ?? 0) - (low ?? 0) + 1;
}

/** Why `ulimit -n <limit>` fails in a shell here, or undefined when it works. */
function ulimitRefusal(limit: number): string | undefined {
  const probe = spawnSync("sh", ["-c", `ulimit -n ${limit}`], { encoding: "utf8" });
  return probe.status === 0 ? undefined : probe.stderr.trim() || `exit ${probe.status}`;
}

/**
 * When the connections need more open files than this process may have and a shell may raise the
 * limit (root, or a hard limit high enough), runs this harness again under `ulimit -n` so every
 * child inherits it, and resolves with that run's exit code; otherwise undefined (carry on here).
 */
export async function raiseOpenFileLimit(params: ConnectionsParams): Promise<number | undefined> {
  const needed = params.connections + params.warmupConnections + FD_MARGIN;
  if (needed <= openFileLimit() || process.env[RAISED_ENV]) return undefined;
  // Node already raises its soft limit to the hard one at start-up; only a higher hard limit helps
  // (root with CAP_SYS_RESOURCE).
  if (ulimitRefusal(RAISED_LIMIT) !== undefined) return undefined;
  const limit = RAISED_LIMIT;
  console.log(`bench: raising the open-file limit to ${limit} (ulimit -n) and running again`);
  const child = spawn(
    "sh",
    ["-c", `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: "inherit",
      env: { ...process.env, [RAISED_ENV]: "1" },
    },
  );
  return new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
}

/**
 * What this machine can run: the connections asked for, or as many as the open-file limit allows
 * (with why), over enough client processes and 127.0.0.x source addresses.
 */
export function connectionsPlan(params: ConnectionsParams): { params: ConnectionsParams; reduced?: string } {
  const limit = openFileLimit();
  let connections = params.connections;
  let reduced: string | undefined;
  if (connections + params.warmupConnections + FD_MARGIN > limit) {
    connections = Math.floor((limit - params.warmupConnections - FD_MARGIN) / 1_000) * 1_000;
    const refusal = ulimitRefusal(RAISED_LIMIT);
    reduced =
      `${params.connections.toLocaleString("en-US")} connections not run: one server process may open ${limit.toLocaleString("en-US")} files here ` +
      `and the limit cannot be raised (\`ulimit -n ${RAISED_LIMIT}\` as ${process.getuid?.() === 0 ? "root" : "this user"}: ` +
      `${process.env[RAISED_ENV] ? "raised, still too low" : (refusal ?? "allowed, but the run was not restarted under it")}); ran ${connections.toLocaleString("en-US")} instead`;
  }
  // Each client process holds its share; each source address has one ephemeral port range towards the server.
  const clientProcesses = Math.max(params.clientProcesses, Math.ceil(connections / (limit - FD_MARGIN)));
  const perAddress = Math.floor(ephemeralPorts() * 0.8);
  const addresses = Math.ceil((connections + params.warmupConnections) / perAddress);
  const localAddresses = addresses > 1 ? Array.from({ length: addresses }, (_, i) => `127.0.0.${i + 2}`) : undefined;
  return {
    params: { ...params, connections, clientProcesses, ...(localAddresses ? { localAddresses } : {}) },
    ...(reduced ? { reduced } : {}),
  };
}

/** Opens idle connections on one server process and reads its memory before and after. */
export async function runConnections(system: SystemUnderTest, params: ConnectionsParams): Promise<ConnectionsResult> {
  const pid = system.serverPids[0] as number;
  const warm = await ClientFleet.start({
    urls: system.urls,
    protocol: system.protocol,
    connections: params.warmupConnections,
    processes: 1,
  });
  try {
    await sleep(1_000);
    const before = await memory(system, pid);
    const started = await ClientFleet.start({
      urls: system.urls,
      protocol: system.protocol,
      connections: params.connections,
      processes: params.clientProcesses,
      ...(params.localAddresses ? { localAddresses: params.localAddresses } : {}),
    });
    try {
      await sleep(params.settleMs);
      const after = await memory(system, pid);
      const n = Math.max(1, started.connected);
      return {
        system: system.name,
        params,
        connected: started.connected,
        connectFailures: started.failed,
        ...(started.firstError ? { connectError: started.firstError } : {}),
        connectsPerSecond: started.connected / (started.connectMs / 1000),
        before,
        after,
        rssBytesPerConnection: (after.rssBytes - before.rssBytes) / n,
        heapBytesPerConnection: (after.heapUsedBytes - before.heapUsedBytes) / n,
      };
    } finally {
      await started.fleet.close();
    }
  } finally {
    await warm.fleet.close();
  }
}

async function memory(system: SystemUnderTest, pid: number): Promise<MemoryFigures> {
  const rssBytes = processRssBytes(pid);
  const base = system.httpUrls[0] as string;
  let heapUsedBytes: number;
  if (system.name === "hub") {
    const text = await (await fetch(`${base}/metrics`)).text();
    heapUsedBytes = Number(/^hub_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
  } else {
    heapUsedBytes = ((await (await fetch(`${base}/stats`)).json()) as { heapUsed: number }).heapUsed;
  }
  return { rssBytes, heapUsedBytes };
}
