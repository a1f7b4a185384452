import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { type RedisServer, startRedis } from "./redis-server.js";
import { until } from "./until.js";

export interface RedisClusterNode extends RedisServer {
  /** The node's cluster id (`CLUSTER MYID`). */
  id: string;
}

export interface RedisCluster {
  /** Every node, masters first as created (a failover changes the roles; ask `master()`). */
  nodes: RedisClusterNode[];
  /** `REDIS_CLUSTER_NODES`: `127.0.0.1:<port>,...` of every node. */
  seeds: string;
  /** Seed nodes as ioredis `Cluster` takes them. */
  startupNodes: Array<{ host: string; port: number }>;
  /** The node that serves `key`'s slot now (as the live nodes see it). */
  masterOf(key: string): Promise<RedisClusterNode>;
  /**
   * Waits until every live node reports `cluster_state:ok` and sees every slot served by a live
   * master (after a `kill()`: the failover is done).
   */
  healthy(timeoutMs?: number): Promise<void>;
  /** Removes every key on every master (between tests sharing the cluster). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Masters, default 3. */
  masters?: number;
  /** Replicas per master, default 1. */
  replicas?: number;
  /** `cluster-node-timeout`: how long a master may be unreachable before its replica takes over; default 1000 ms. */
  nodeTimeoutMs?: number;
}

/**
 * Starts a throwaway Redis Cluster (default 3 masters + 3 replicas) of `redis-server` processes on
 * free loopback ports, joined with `redis-cli --cluster create`, and resolves once every slot is
 * served. Stop it with `stop()`; the test kit's child tracking kills it if the test process dies.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), "hub-redis-cluster-"));
  const launched = await Promise.all(
    Array.from({ length: masters * (1 + replicas) }, (_, i) =>
      startRedis({
        args: [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${i}.conf`),
          "--cluster-node-timeout",
          String(options.nodeTimeoutMs ?? 1_000),
          // A replica may take over however long ago it last heard from its master.
          "--cluster-replica-validity-factor",
          "0",
          "--dir",
          dir,
        ],
      }),
    ),
  );
  const addresses = launched.map((server) => `127.0.0.1:${server.port}`);
  await runRedisCli(["--cluster", "create", ...addresses, "--cluster-replicas", String(replicas), "--cluster-yes"]);
  const live = new Set<RedisClusterNode>();
  const ask = async <T>(node: RedisClusterNode, use: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      return await use(client);
    } finally {
      client.disconnect();
    }
  };
  const nodes: RedisClusterNode[] = await Promise.all(
    launched.map(async (server) => {
      const node: RedisClusterNode = {
        ...server,
        id: (await ask({ ...server, id: "" }, (c) => c.cluster("MYID"))) as string,
        kill: async () => {
          live.delete(node);
          await server.kill();
        },
        stop: async () => {
          live.delete(node);
          await server.stop();
        },
      };
      live.add(node);
      return node;
    }),
  );
  const cluster: RedisCluster = {
    nodes,
    seeds: addresses.join(","),
    startupNodes: launched.map((server) => ({ host: "127.0.0.1", port: server.port })),
    async masterOf(key) {
      const [first] = live;
      if (!first) throw new Error("no live node");
      const slot = (await ask(first, (c) => c.cluster("KEYSLOT", key))) as number;
      const shards = await ask(first, (c) => c.cluster("SLOTS"));
      const shard = shards.find(([from, to]) => slot >= from && slot <= to);
      const node = nodes.find((n) => n.id === shard?.[2]?.[2]);
      if (!node) throw new Error(`no master serves slot ${slot}`);
      return node;
    },
    async healthy(timeoutMs = 20_000) {
      await until(
        "every slot of the Redis Cluster to be served",
        async () => {
          const livePorts = new Set([...live].map((n) => n.port));
          for (const node of live) {
            const info = await ask(node, (c) => c.cluster("INFO")).catch(() => "");
            if (!String(info).includes("cluster_state:ok") || !String(info).includes("cluster_slots_ok:16384")) return false;
            // Right after a kill the survivors may not have noticed yet: every slot's master must be alive.
            const shards = await ask(node, (c) => c.cluster("SLOTS")).catch(() => undefined);
            if (!shards || shards.some((shard) => !livePorts.has(Number(shard[2]?.[1])))) return false;
          }
          return true;
        },
        timeoutMs,
      );
    },
    async flush() {
      for (const node of live) {
        const role = await ask(node, (c) => c.role());
        if (role[0] === "master") await ask(node, (c) => c.flushall());
      }
    },
    async stop() {
      await Promise.all([...live].map((node) => node.stop()));
      live.clear();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.healthy();
  // A replica that has not synced once cannot take over: a failover test right after the start would hang.
  await until("every replica to be in sync with its master", async () => {
    for (const node of live) {
      const info = String(await ask(node, (c) => c.info("replication")).catch(() => ""));
      if (info.includes("role:slave") && !info.includes("master_link_status:up")) return false;
    }
    return true;
  });
  return cluster;
}

function runRedisCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("redis-cli", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const append = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", append);
    child.stderr.on("data", append);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`redis-cli ${args.join(" ")} exited with ${code}:\n${output.slice(-2000)}`)),
    );
  });
}
