import { type ChildProcess, fork } from "node:child_process";
import { stopChild, track } from "@hub/devkit";

/** Forks a harness script (TypeScript through tsx) with an IPC channel; killed if the harness exits. */
export function forkScript(script: string): ChildProcess {
  const child = fork(script, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  track(child);
  return child;
}

/** Sends `message` and resolves with the first reply that `match` accepts; rejects on exit or timeout. */
export function askChild<Reply>(
  child: ChildProcess,
  message: unknown,
  match: (reply: Reply) => boolean,
  timeoutMs = 60_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`child did not answer ${JSON.stringify(message).slice(0, 40)} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (reply: Reply) => {
      if (match(reply)) done(undefined, reply);
    };
    const onExit = (code: number | null) => done(new Error(`child exited (${code})`));
    const done = (error: Error | undefined, reply?: Reply) => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve(reply as Reply);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(message as object);
  });
}

/** Asks the child to close, then ends it (SIGTERM, SIGKILL after 5 s). */
export async function closeChild(child: ChildProcess, message: unknown = { type: "close" }): Promise<void> {
  if (child.connected) child.send(message as object);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await stopChild(child, "SIGTERM");
  clearTimeout(timer);
}
