import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ClientFleet } from "./load/client-fleet.js";
import type { SystemName, SystemUnderTest } from "./systems.js";

export interface ConnectionsParams {
  /** Idle connections (connected and subscribed to one topic) on one server process. */
  connections: number;
  /** Opened first and kept open, before the "before" figures: loads the code paths one connection needs. */
  warmupConnections: number;
  /** Waited after the last connection before the "after" figures. */
  settleMs: number;
  clientProcesses: number;
}

export const CONNECTIONS_QUICK: ConnectionsParams = { connections: 10_000, warmupConnections: 100, settleMs: 2_000, clientProcesses: 2 };
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

/** Can this machine hold `connections` sockets? Both ends of each live here, on 127.0.0.1. */
export function connectionsBlocker(params: ConnectionsParams): string | undefined {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Number.POSITIVE_INFINITY);
  const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const ports = (high ?? 0) - (low ?? 0) + 1;
  const margin = 1_000;
  if (params.connections + margin > soft) {
    return `the open-file limit is ${soft} per process; the server needs more than ${params.connections} (raise ulimit -n)`;
  }
  if (params.connections > ports) {
    return `the ephemeral port range has ${ports} ports; ${params.connections} connections to one address need several 127.0.0.x source addresses (not implemented)`;
  }
  return undefined;
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
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssBytes = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
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
