import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { track } from "@hub/devkit";

const EXAMPLE_DIR = fileURLToPath(new URL("..", import.meta.url));

export interface BotProcess {
  /** Every stdout line so far. */
  lines: string[];
  /** Everything printed on stderr. */
  stderr(): string;
  /** Resolves with the first stdout line (printed or still to come) that matches; fails after `timeoutMs`. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code once the bot has exited by itself; fails after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
  /** Sends the signal (unless the bot already exited) and resolves with the exit code; fails after 20 s. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the bot as its `start` script does, with only the given environment (plus PATH). */
export function spawnBot(env: Record<string, string>): BotProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: EXAMPLE_DIR,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split("\n");
    pending = complete.pop() ?? "";
    lines.push(...complete);
    for (const check of waiters) check();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const output = () => `stdout:\n${lines.join("\n")}\nstderr:\n${stderr.slice(-2000)}`;

  const exited = (timeoutMs = 20_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bot did not exit within ${timeoutMs} ms\n${output()}`)), timeoutMs);
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  };

  return {
    lines,
    stderr: () => stderr,
    waitForLine(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const settle = (error: Error | undefined, line = "") => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off("close", onClose);
          if (error) reject(error);
          else resolve(line);
        };
        const check = () => {
          const found = lines.find(match);
          if (found !== undefined) settle(undefined, found);
        };
        // "close" comes after the last stdout chunk.
        const onClose = (code: number | null) => settle(new Error(`the bot exited (${code}) without a matching line\n${output()}`));
        const timer = setTimeout(() => settle(new Error(`no matching bot line within ${timeoutMs} ms\n${output()}`)), timeoutMs);
        waiters.add(check);
        child.once("close", onClose);
        check();
      });
    },
    exited,
    stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited();
    },
  };
}
