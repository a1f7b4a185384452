import { ConfigError } from "./config-error.js";
import { type Env, oneOf, str, url } from "./env-readers.js";

/** One Redis node or Sentinel address. */
export interface HostPort {
  host: string;
  port: number;
}

/** How the hub reaches Redis: one server, a Sentinel-managed master, or a Redis Cluster. */
export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "sentinel"; sentinels: readonly HostPort[]; name: string }
  | { kind: "cluster"; nodes: readonly HostPort[] };

/**
 * `classic`: PUBLISH / PSUBSCRIBE, every gateway sees every broadcast. `sharded`: SPUBLISH /
 * SSUBSCRIBE on one channel per topic, a gateway receives only the topics it has members of.
 */
export type PubSubMode = "classic" | "sharded";

export interface RedisSettings {
  target: RedisTarget;
  /** `REDIS_PASSWORD`: for every node (and Sentinel, unless `REDIS_SENTINEL_PASSWORD` is set). */
  password: string | undefined;
  /** `REDIS_SENTINEL_PASSWORD`: the Sentinels' own password, when it differs. */
  sentinelPassword: string | undefined;
  /** `HUB_PUBSUB`, default `sharded` on Redis Cluster and `classic` otherwise. */
  pubsub: PubSubMode;
}

/**
 * Reads `REDIS_URL`, `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME` (at most one
 * of the three), `REDIS_PASSWORD` and `HUB_PUBSUB`; undefined when none names a Redis.
 */
export function readRedisSettings(env: Env): RedisSettings | undefined {
  const single = url(env, "REDIS_URL", ["redis:", "rediss:"]);
  const clusterNodes = str(env, "REDIS_CLUSTER_NODES");
  const sentinels = str(env, "REDIS_SENTINELS");
  const named = [single && "REDIS_URL", clusterNodes && "REDIS_CLUSTER_NODES", sentinels && "REDIS_SENTINELS"].filter(Boolean);
  if (named.length > 1) throw new ConfigError(named[1] as string, `cannot be set together with ${named[0]}: choose one Redis`);
  const sentinelName = str(env, "REDIS_SENTINEL_NAME");
  if (sentinels && !sentinelName) throw new ConfigError("REDIS_SENTINEL_NAME", "is required with REDIS_SENTINELS (the master's name)");
  if (sentinelName && !sentinels) throw new ConfigError("REDIS_SENTINELS", "is required with REDIS_SENTINEL_NAME");
  let target: RedisTarget;
  if (single) target = { kind: "single", url: single };
  else if (clusterNodes) target = { kind: "cluster", nodes: hostPorts(clusterNodes, "REDIS_CLUSTER_NODES") };
  else if (sentinels && sentinelName) target = { kind: "sentinel", sentinels: hostPorts(sentinels, "REDIS_SENTINELS"), name: sentinelName };
  else return undefined;
  return {
    target,
    password: str(env, "REDIS_PASSWORD"),
    sentinelPassword: str(env, "REDIS_SENTINEL_PASSWORD"),
    pubsub: oneOf(env, "HUB_PUBSUB", ["classic", "sharded"] as const) ?? (target.kind === "cluster" ? "sharded" : "classic"),
  };
}

/** Where the hub's Redis is, for logs and banners (never a password). */
export function describeRedis(target: RedisTarget): string {
  switch (target.kind) {
    case "single": {
      const parsed = new URL(target.url);
      return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
    }
    case "cluster":
      return `cluster ${target.nodes.map(({ host, port }) => `${host}:${port}`).join(",")}`;
    case "sentinel":
      return `sentinel ${target.name}@${target.sentinels.map(({ host, port }) => `${host}:${port}`).join(",")}`;
  }
}

function hostPorts(raw: string, name: string): HostPort[] {
  return raw.split(",").map((entry) => {
    const item = entry.trim();
    const match = /^(\[[0-9a-fA-F:]+\]|[^\s:,[\]]+):(\d{1,5})$/.exec(item);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) throw new ConfigError(name, `must be host:port,host:port,..., got ${JSON.stringify(item)}`);
    return { host: (match[1] as string).replace(/^\[|\]$/g, ""), port };
  });
}
