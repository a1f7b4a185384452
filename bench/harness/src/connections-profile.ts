// Where the memory of an idle connection goes: a heap snapshot of one server process with the
// warm-up connections, another with `connections` more, and the growth per connection by object kind.
// Run by `pnpm bench --full` after the connections scenario (its own processes: a snapshot's GC and
// native memory would disturb the RSS figures), or alone:
//   node --import tsx bench/harness/src/connections-profile.ts [--connections 10000]
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRedis } from "@hub/devkit";
import type { ConnectionsParams } from "./connections.js";
import { type HeapGroup, heapGrowth, heapTotal, summarizeHeapSnapshot } from "./heap-snapshot.js";
import { ClientFleet } from "./load/client-fleet.js";
import { type SystemName, type SystemUnderTest, startSystem } from "./systems.js";

export interface ProfileRow {
  /** V8 node type and name: `object:Socket` (the constructor), `closure:<function>`, `array:(object properties)`, `string`, ... */
  key: string;
  countPerConnection: number;
  bytesPerConnection: number;
}

export interface ConnectionsProfile {
  system: SystemName;
  connections: number;
  /** Live V8 heap (after the snapshot's full GC) per connection: all snapshot nodes' self size. */
  liveHeapBytesPerConnection: number;
  /** VmRSS growth per connection over the same interval (snapshots add native memory, so this is rough). */
  rssBytesPerConnection: number;
  top: ProfileRow[];
}

const SIGNAL = "SIGUSR2";

/** Starts `name` on one process with heap snapshots on a signal, opens the connections, and compares. */
export async function profileConnections(
  name: SystemName,
  redisUrl: string,
  params: Pick<ConnectionsParams, "connections" | "warmupConnections" | "clientProcesses" | "settleMs">,
): Promise<ConnectionsProfile> {
  const dir = mkdtempSync(join(tmpdir(), "bench-heap-"));
  const system = await startSystem(name, {
    redisUrl,
    nodes: 1,
    env: { NODE_OPTIONS: `--heapsnapshot-signal=${SIGNAL} --diagnostic-dir=${dir}` },
  });
  try {
    const pid = system.serverPids[0] as number;
    const warm = await ClientFleet.start({
      urls: system.urls,
      protocol: system.protocol,
      connections: params.warmupConnections,
      processes: 1,
    });
    try {
      await sleep(1_000);
      const rssBefore = rss(pid);
      const before = await summarizeHeapSnapshot(await snapshot(system, dir));
      const fleet = await ClientFleet.start({
        urls: system.urls,
        protocol: system.protocol,
        connections: params.connections,
        processes: params.clientProcesses,
      });
      try {
        await sleep(params.settleMs);
        const rssAfter = rss(pid);
        const after = await summarizeHeapSnapshot(await snapshot(system, dir));
        const n = Math.max(1, fleet.connected);
        return {
          system: name,
          connections: fleet.connected,
          liveHeapBytesPerConnection: (heapTotal(after) - heapTotal(before)) / n,
          rssBytesPerConnection: (rssAfter - rssBefore) / n,
          top: heapGrowth(before, after, n).map((r) => ({
            key: r.key,
            countPerConnection: r.countPerItem,
            bytesPerConnection: r.bytesPerItem,
          })),
        };
      } finally {
        await fleet.fleet.close();
      }
    } finally {
      await warm.fleet.close();
    }
  } finally {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

/** Signals the server to write a heap snapshot and resolves with its path once it is complete. */
async function snapshot(system: SystemUnderTest, dir: string): Promise<string> {
  const pid = system.serverPids[0] as number;
  const existing = new Set(readdirSync(dir));
  process.kill(pid, SIGNAL);
  const deadline = Date.now() + 180_000;
  let file: string | undefined;
  while (!file && Date.now() < deadline) {
    await sleep(200);
    file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !existing.has(f));
  }
  if (!file) throw new Error(`${system.name}: no heap snapshot after ${SIGNAL}`);
  const path = join(dir, file);
  // The snapshot is written on the server's main thread: once it answers HTTP and the size holds, it is done.
  let size = -1;
  while (Date.now() < deadline) {
    try {
      await fetch(`${system.httpUrls[0]}/health/live`);
    } catch {
      // still writing
    }
    const now = statSync(path).size;
    if (now === size && now > 0) return path;
    size = now;
    await sleep(500);
  }
  throw new Error(`${system.name}: heap snapshot ${path} did not complete`);
}

export type { HeapGroup };

// Alone: node --import tsx bench/harness/src/connections-profile.ts [--connections N] [--systems hub,plain]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { connections: { type: "string", default: "10000" }, systems: { type: "string", default: "hub,plain" } },
  });
  const redis = await startRedis();
  try {
    for (const name of (values.systems ?? "hub").split(",") as SystemName[]) {
      const profile = await profileConnections(name, redis.url, {
        connections: Number(values.connections),
        warmupConnections: 100,
        clientProcesses: 2,
        settleMs: 2_000,
      });
      console.log(JSON.stringify(profile, null, 2));
    }
  } finally {
    await redis.stop();
  }
}
