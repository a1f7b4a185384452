import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freeRedisPort } from "./free-port.js";
import { type RedisServer, startRedis } from "./redis-server.js";
import { until } from "./until.js";

export interface RedisSentinelSet {
  /** The master's name the Sentinels monitor (`REDIS_SENTINEL_NAME`). */
  name: string;
  /** `REDIS_SENTINELS`: `127.0.0.1:<port>,...`. */
  sentinels: string;
  /** Sentinel addresses as ioredis takes them. */
  sentinelNodes: Array<{ host: string; port: number }>;
  /** The data nodes, the first started as master. */
  servers: RedisServer[];
  /** The data node that is master now, as the Sentinels say. */
  master(): Promise<RedisServer>;
  /** Waits until the Sentinels name a master other than `previous` and it answers as master. */
  failedOver(previous: RedisServer, timeoutMs?: number): Promise<RedisServer>;
  stop(): Promise<void>;
}

export interface RedisSentinelOptions {
  /** Replicas of the master, default 1. */
  replicas?: number;
  /** Sentinels, default 1 (quorum 1). */
  sentinels?: number;
  /** `down-after-milliseconds`: how long the master may not answer before a failover; default 1000. */
  downAfterMs?: number;
}

/**
 * Starts a throwaway Sentinel-managed Redis: a master, its replicas and Sentinels watching it
 * (name `hub`), all `redis-server` processes on free loopback ports. Resolves once every replica is
 * in sync and the Sentinels know the replicas.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelSet> {
  const name = "hub";
  const dir = mkdtempSync(join(tmpdir(), "hub-redis-sentinel-"));
  const master = await startRedis();
  const replicas = await Promise.all(
    Array.from({ length: options.replicas ?? 1 }, () => startRedis({ args: ["--replicaof", "127.0.0.1", String(master.port)] })),
  );
  const servers = [master, ...replicas];
  await until("the replicas to sync with the master", async () => {
    const info = await ask(master.url, (c) => c.info("replication"));
    return (info.match(/^slave\d+:.*state=online/gm) ?? []).length === replicas.length;
  });
  const sentinels = await Promise.all(
    Array.from({ length: options.sentinels ?? 1 }, async (_, i) => {
      const port = await freeRedisPort();
      const config = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        config,
        [
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      return startRedis({ port, sentinelConfig: config });
    }),
  );
  const sentinelNodes = sentinels.map((s) => ({ host: "127.0.0.1", port: s.port }));
  const masterPort = async (): Promise<number> => {
    const [, port] = (await ask((sentinels[0] as RedisServer).url, (c) => c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name))) as [
      string,
      string,
    ];
    return Number(port);
  };
  await until("the Sentinels to know every replica", async () => {
    const known = (await ask((sentinels[0] as RedisServer).url, (c) => c.call("SENTINEL", "REPLICAS", name))) as unknown[];
    return known.length === replicas.length;
  });
  return {
    name,
    sentinels: sentinelNodes.map(({ host, port }) => `${host}:${port}`).join(","),
    sentinelNodes,
    servers,
    async master() {
      const port = await masterPort();
      const found = servers.find((s) => s.port === port);
      if (!found) throw new Error(`no server on the master port ${port}`);
      return found;
    },
    async failedOver(previous, timeoutMs = 30_000) {
      return until(
        "the Sentinels to promote a replica",
        async () => {
          const port = await masterPort().catch(() => previous.port);
          if (port === previous.port) return undefined;
          const promoted = servers.find((s) => s.port === port);
          if (!promoted) return undefined;
          const role = await ask(promoted.url, (c) => c.role()).catch(() => [""]);
          return role[0] === "master" ? promoted : undefined;
        },
        timeoutMs,
      );
    },
    async stop() {
      await Promise.all([...sentinels, ...servers].map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ask<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}
