import { spawn } from "node:child_process";
import { stopChild, track } from "./child-processes.js";
import { freePort } from "./free-port.js";

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it at once, as a crash would. */
  kill(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` (no persistence) on a free loopback port and resolves once it
 * accepts connections.
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(port);
    } catch (error) {
      if (attempt >= 3 || options.port !== undefined) throw error;
    }
  }
}

function launch(port: number): Promise<RedisServer> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "notice"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  track(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        child.stdout.off("data", onData);
        resolve({
          url: `redis://127.0.0.1:${port}`,
          port,
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
