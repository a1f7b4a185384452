import { readFileSync } from "node:fs";

/** Resident set size of a process (VmRSS from /proc/<pid>/status), in bytes. */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}
