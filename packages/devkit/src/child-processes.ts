import type { ChildProcess } from "node:child_process";

const running = new Set<ChildProcess>();

/** Tracks a child so it is killed if the test process exits without stopping it. */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
}

process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Sends a signal and resolves with the exit code once the child has exited. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill(signal);
  });
}
