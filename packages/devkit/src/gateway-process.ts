import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { stopChild, track } from "./child-processes.js";
import { TEST_INTERNAL_SECRET, TEST_JWT_SECRET } from "./tokens.js";

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface HubProcess {
  child: ChildProcess;
  /** Every JSON log line printed so far. */
  logs: Array<Record<string, unknown>>;
  /** Everything printed on stderr. */
  stderr(): string;
  /** Resolves with the first log line (already printed or still to come) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash. */
  kill(): Promise<number | null>;
}

export interface GatewayProcess extends HubProcess {
  port: number;
  url: string;
  /** The health listener's port, when the gateway was started with HEALTH_PORT. */
  healthPort: number | undefined;
}

/** Environment every test gateway starts with; override per test. */
export function gatewayEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    // The worker's /metrics listener; gateways ignore it. Free ports, so tests can run several.
    METRICS_PORT: "0",
    JWT_SECRET: TEST_JWT_SECRET,
    INTERNAL_JWT_SECRET: TEST_INTERNAL_SECRET,
    LOG_LEVEL: "info",
    // Tests and the bench connect thousands of clients from one address, often as one user, and
    // send requests as fast as they are answered: the limits' defaults would refuse them. The
    // limit tests set the values they test.
    MAX_CONNECTIONS_PER_USER: "100000",
    MAX_CONNECTIONS_PER_IP: "1000000",
    HANDSHAKES_PER_IP_PER_SECOND: "100000",
    MAX_PENDING_SESSIONS: "1000000",
    REQUEST_RATE_PER_SECOND: "100000",
    HTTP_PUBLISH_RATE_PER_SECOND: "100000",
    CLIENT_PUBLISH_RATE: "100000",
    CLIENT_PUBLISH_BURST: "100000",
    ...overrides,
  };
}

export interface SpawnOptions {
  /** Also copy the child's output to this process's stdout / stderr. @default false */
  echo?: boolean;
  /** Command-line arguments after the script, as `pnpm start --cluster 2` passes them. @default [] */
  args?: readonly string[];
}

/** Spawns a hub process from a script of the repository and collects its JSON log lines. */
export function spawnHubProcess(script: string, env: Record<string, string | undefined>, options: SpawnOptions = {}): HubProcess {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(child);
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  let stderr = "";
  let pending = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    if (options.echo) process.stdout.write(chunk);
    pending += chunk.toString();
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text, unparsed: true };
      }
      logs.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const waiter = waiters[i];
        if (waiter?.match(line)) {
          waiters.splice(i, 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    if (options.echo) process.stderr.write(chunk);
    stderr += chunk.toString();
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    waitForLog(match) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        child.once("exit", (code) =>
          reject(new Error(`${script} exited (${code}) while a test waited for a log line.\nstderr: ${stderr.slice(-2000)}`)),
        );
      });
    },
    stop: () => stopChild(child),
    kill: () => stopChild(child, "SIGKILL"),
  };
}

/** Starts a real gateway process (`apps/gateway/src/main.ts`) and resolves once it is ready. */
export async function startGateway(overrides: Record<string, string | undefined> = {}): Promise<GatewayProcess> {
  const hub = spawnHubProcess("apps/gateway/src/main.ts", gatewayEnv(overrides));
  const listening = await hub.waitForLog((l) => l.msg === "listening");
  await hub.waitForLog((l) => l.msg === "ready");
  const port = listening.port as number;
  const healthPort = typeof listening.health_port === "number" ? listening.health_port : undefined;
  return { ...hub, port, url: `http://127.0.0.1:${port}`, healthPort };
}

/** Starts a real queue-worker process (`apps/queue-worker/src/main.ts`) and resolves once it runs. */
export async function startWorker(overrides: Record<string, string | undefined> = {}): Promise<HubProcess> {
  const worker = spawnHubProcess("apps/queue-worker/src/main.ts", gatewayEnv(overrides));
  await worker.waitForLog((l) => l.msg === "queue-worker started");
  return worker;
}
