import { createServer } from "node:net";

/**
 * The test kit's ports are below the kernel's ephemeral range (32768-60999 on Linux), so nothing
 * bound on port 0 and no outgoing connection takes one meanwhile, and in two halves:
 * - 10000-14999 for the redis-servers it starts (bound at once; a Redis Cluster node's bus port, its
 *   port + 10000, lands in 20000-24999, clear of every other port here);
 * - 15000-19999 for ports a test reserves and binds later (a gateway on a fixed port, a proxy), so a
 *   redis-server started meanwhile (`pnpm start --cluster 2 --redis-cluster` starts six between the
 *   reservation and its gateways) never takes one.
 */
const RESERVED = { first: 15_000, last: 19_999 };
const REDIS = { first: 10_000, last: 14_999 };

/** A TCP port that was free a moment ago on 127.0.0.1, for a server bound later. */
export async function freePort(): Promise<number> {
  return freePortIn(RESERVED, 1);
}

/** The first of `count` consecutive TCP ports that were all free a moment ago on 127.0.0.1. */
export async function freePortRange(count: number): Promise<number> {
  return freePortIn(RESERVED, count);
}

/** A free port for a redis-server the test kit starts right away. */
export async function freeRedisPort(): Promise<number> {
  return freePortIn(REDIS, 1);
}

async function freePortIn(range: { first: number; last: number }, count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = range.first + Math.floor(Math.random() * (range.last - range.first + 2 - count));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found in ${range.first}-${range.last}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
