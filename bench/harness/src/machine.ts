import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Redis } from "ioredis";

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  redis: string;
  date: string;
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
  };
}

/** The redis-server's process id, to read its CPU time. */
export async function redisPid(redis: Redis): Promise<number> {
  const pid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
  if (!Number.isInteger(pid)) throw new Error("INFO server did not report process_id");
  return pid;
}
