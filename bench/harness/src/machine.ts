import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import type { Redis } from "ioredis";
import { clockTicks } from "./process-cpu.js";

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  redis: string;
  date: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine adds noise. */
  loadAverage: number[];
  /** The busiest other processes when the run started (ps, by CPU since they started). */
  busiestProcesses: string[];
}

/** Describes the machine a run happened on; redis is the server the run started. */
export async function describeMachine(redis: Redis): Promise<Machine> {
  let cpuModel = "unknown";
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  } catch {
    // not Linux
  }
  const info = await redis.info("server");
  return {
    cores: availableParallelism(),
    cpuModel,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
    date: new Date().toISOString(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    busiestProcesses: busiest(),
  };
}

/** The redis-server's process id, to read its CPU time. */
export async function redisPid(redis: Redis): Promise<number> {
  const pid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
  if (!Number.isInteger(pid)) throw new Error("INFO server did not report process_id");
  return pid;
}

function busiest(): string[] {
  try {
    const out = execFileSync("ps", ["-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"], { encoding: "utf8" });
    return out
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.endsWith(" ps"))
      .slice(0, 5);
  } catch {
    return [];
  }
}

/** CPU ticks (1/CLK_TCK s) the whole machine spent busy, and this process tree's share. */
interface CpuSample {
  machineBusy: number;
  ours: number;
  at: number;
}

function sampleCpu(): CpuSample {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((n, v) => n + v, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  // This process and its live descendants, with their reaped children (cutime + cstime).
  const parents = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(rest[1]));
      ticks.set(Number(entry), Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]));
    } catch {
      // gone meanwhile
    }
  }
  let ours = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parents.get(p)) {
      if (p === process.pid) {
        ours += t;
        break;
      }
    }
  }
  return { machineBusy: total - idle, ours, at: Date.now() };
}

/** Measures how much CPU processes outside this run used meanwhile: the noise under the figures. */
export class NoiseMeter {
  #last = sampleCpu();

  /** Cores busy with other work since the previous call (or construction), on average. */
  take(): number {
    const now = sampleCpu();
    const seconds = (now.at - this.#last.at) / 1000;
    const foreign = now.machineBusy - this.#last.machineBusy - (now.ours - this.#last.ours);
    this.#last = now;
    return seconds > 0 ? Math.max(0, foreign) / clockTicks() / seconds : 0;
  }
}
