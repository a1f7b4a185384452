// The real HAProxy with the repository's configuration (infra/haproxy/haproxy.cfg) in front of
// three gateway processes, for suites that need a load balancer in the loop (load-balancer.test.ts,
// the fault matrix).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, REPO_ROOT, stopChild, track, until } from "@hub/devkit";

const HAPROXY_CFG = join(REPO_ROOT, "infra/haproxy/haproxy.cfg");

export interface HaproxyProcess {
  child: ChildProcess;
  /** The public listener, `http://127.0.0.1:<port>`. */
  url: string;
  /** What haproxy printed (its request log included), for failure messages. */
  output(): string;
  /** `status` (UP, DOWN, ...) of each gateway server by slot (gateway-1, -2, -3), from the stats CSV. */
  servers(): Promise<string[]>;
  /** Resolves once every gateway server is UP after a passed check (L7OK). */
  allUp(timeoutMs?: number): Promise<void>;
  /**
   * Takes a gateway (by slot) out of the pool for new connections (`maint`: open ones stay) or puts
   * it back (`ready`), through HAProxy's runtime API; resolves once HAProxy confirmed it.
   */
  setServerState(slot: number, state: "maint" | "ready"): Promise<void>;
  stop(): Promise<void>;
}

/** The three backends HAProxy balances, by slot: their ports must stay the same across restarts. */
export interface Backends {
  readonly ports: readonly [number, number, number];
  /** Each gateway's HEALTH_PORT, where the checks go. @default ports (checks on the traffic ports) */
  readonly healthPorts?: readonly [number, number, number];
  /**
   * HAProxy's global `maxconn` (HUB_LB_MAXCONN). HAProxy raises its own open-file limit to about
   * twice this (a client side and a server side per connection) and refuses to start if the hard
   * limit is lower. @default 2000
   */
  readonly maxconn?: number;
  /** Health-check interval (HUB_LB_CHECK_INTER). @default "200ms" */
  readonly checkInterval?: string;
  /** How long one check waits for its answer (HUB_LB_CHECK_TIMEOUT). @default "2s" */
  readonly checkTimeout?: string;
}

/** Starts haproxy on free ports and resolves once its health checks have seen every gateway UP. */
export async function startHaproxy(backends: Backends): Promise<HaproxyProcess> {
  const bin = onPath("haproxy");
  if (!bin) {
    throw new Error(
      "haproxy is not on PATH: this suite runs the real load balancer. Install it (Debian/Ubuntu: `apt-get install -y haproxy`; `pnpm test` does that through packages/devkit/bin/ensure-test-deps.mjs) and run it again.",
    );
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(bin, backends);
    } catch (error) {
      // A free port can be taken between freePort() and bind(): try again on others.
      if (attempt >= 3 || !/cannot bind|Address already in use/i.test((error as Error).message)) throw error;
    }
  }
}

async function launch(
  bin: string,
  { ports, healthPorts = ports, maxconn = 2_000, checkInterval = "200ms", checkTimeout = "2s" }: Backends,
): Promise<HaproxyProcess> {
  const [port, statsPort] = [await freePort(), await freePort()];
  const adminDir = mkdtempSync(join(tmpdir(), "hub-haproxy-"));
  const adminSocket = join(adminDir, "admin.sock");
  const child = spawn(bin, ["-f", HAPROXY_CFG, "-db"], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HUB_LB_ADDR: "127.0.0.1",
      HUB_LB_PORT: String(port),
      HUB_LB_STATS_PORT: String(statsPort),
      // Checks every 200 ms, fall 2: a dead node leaves the pool (and its WebSockets are cut:
      // on-marked-down shutdown-sessions) within about half a second, a stopped one within about
      // 4.5 s: a check answered within 2 s passes (a gateway busy with a storm is slow, not down).
      HUB_LB_CHECK_INTER: checkInterval,
      HUB_LB_CHECK_TIMEOUT: checkTimeout,
      HUB_LB_MAXCONN: String(maxconn),
      HUB_LB_ADMIN_SOCKET: adminSocket,
      HUB_GATEWAY_1: `127.0.0.1:${ports[0]}`,
      HUB_GATEWAY_2: `127.0.0.1:${ports[1]}`,
      HUB_GATEWAY_3: `127.0.0.1:${ports[2]}`,
      HUB_GATEWAY_1_HEALTH_PORT: String(healthPorts[0]),
      HUB_GATEWAY_2_HEALTH_PORT: String(healthPorts[1]),
      HUB_GATEWAY_3_HEALTH_PORT: String(healthPorts[2]),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(child);
  child.once("exit", () => rmSync(adminDir, { recursive: true, force: true }));
  let output = "";
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error) => reject(new Error(`could not run haproxy: ${error.message}`)));
    child.once("exit", (code, signal) => reject(new Error(`haproxy exited (${code ?? signal}) while starting:\n${output}`)));
  });
  exited.catch(() => undefined);
  const statsUrl = `http://127.0.0.1:${statsPort}/stats;csv`;
  const rows = async () =>
    parseStatsCsv(await (await fetch(statsUrl)).text()).filter((row) => row.pxname === "gateways" && row.svname !== "BACKEND");
  const proc: HaproxyProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    servers: async () => (await rows()).map((row) => row.status ?? ""),
    allUp: async (timeoutMs = 15_000) => {
      let last = "no answer yet";
      try {
        await until(
          "haproxy to report every gateway UP",
          async () => {
            const servers = await rows().catch((error: Error) => error);
            if (servers instanceof Error) {
              last = servers.message;
              return false;
            }
            last = JSON.stringify(servers.map((s) => [s.svname, s.status, s.check_status]));
            return servers.length === ports.length && servers.every((s) => s.status === "UP" && s.check_status === "L7OK");
          },
          timeoutMs,
        );
      } catch (error) {
        throw new Error(`${(error as Error).message} (last: ${last})\n${output.slice(-4000)}`);
      }
    },
    setServerState: async (slot, state) => {
      const answer = await runtimeApi(adminSocket, `set server gateways/gateway-${slot + 1} state ${state}`);
      if (answer.trim() !== "") throw new Error(`haproxy refused the state change: ${answer}`);
    },
    stop: async () => void (await stopChild(child)),
  };
  try {
    await Promise.race([exited, proc.allUp()]);
  } catch (error) {
    await stopChild(child, "SIGKILL");
    throw error;
  }
  return proc;
}

/** One command to HAProxy's runtime API (a Unix socket): resolves with its answer once it closes the socket. */
function runtimeApi(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.once("error", reject);
    socket.once("close", () => resolve(answer));
    socket.end(`${command}\n`);
  });
}

function onPath(bin: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

function parseStatsCsv(csv: string): Array<Record<string, string>> {
  const [header, ...lines] = csv.trim().split("\n");
  if (!header?.startsWith("# ")) return [];
  const columns = header.slice(2).split(",");
  return lines.map((line) => {
    const values = line.split(",");
    return Object.fromEntries(columns.map((column, i) => [column, values[i] ?? ""]));
  });
}
