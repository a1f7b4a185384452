import { spawn } from "node:child_process";
import { stopChild, track } from "./child-processes.js";
import { freeRedisPort } from "./free-port.js";

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, without the password even when one is required. */
  url: string;
  port: number;
  /** The password clients must AUTH with (`requirepass`), when the server was started with one. */
  password: string | undefined;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it at once, as a crash would. */
  kill(): Promise<void>;
}

export interface RedisOptions {
  /** A fixed port (a restart on the same port); default a free one. */
  port?: number;
  /** Require this password (`--requirepass`); the returned `url` still has none. */
  password?: string;
  /** More `redis-server` arguments (`--cluster-enabled yes`, `--replicaof ...`). */
  args?: readonly string[];
  /** Run as a Sentinel with this configuration file (it must be writable: Sentinel rewrites it). */
  sentinelConfig?: string;
}

/**
 * Starts a throwaway `redis-server` (no persistence) on a free loopback port and resolves once it
 * accepts connections.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freeRedisPort());
    try {
      return await launch(port, options);
    } catch (error) {
      if (attempt >= 3 || options.port !== undefined) throw error;
    }
  }
}

function launch(port: number, { password, args: extra = [], sentinelConfig }: RedisOptions): Promise<RedisServer> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "no"];
  if (sentinelConfig === undefined) args.push("--save", "", "--appendonly", "no");
  if (password !== undefined) args.push("--requirepass", password);
  const head = sentinelConfig === undefined ? [] : [sentinelConfig, "--sentinel"];
  const child = spawn("redis-server", [...head, ...args, ...extra, "--loglevel", "notice"], { stdio: ["ignore", "pipe", "pipe"] });
  track(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections") || (sentinelConfig !== undefined && output.includes("Sentinel ID is"))) {
        child.stdout.off("data", onData);
        resolve({
          url: `redis://127.0.0.1:${port}`,
          port,
          password,
          stop: async () => void (await stopChild(child)),
          kill: async () => void (await stopChild(child, "SIGKILL")),
        });
      }
    };
    child.stdout.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${output.slice(-2000)}`)));
  });
}
