import { createServer } from "node:net";

/**
 * Where the test kit reserves ports it binds later (a redis-server, a gateway on a fixed port, a
 * proxy): below the kernel's ephemeral range (32768-60999 on Linux), so no port the kernel hands out
 * meanwhile (another process's listener on port 0, an outgoing connection) can take one; and below
 * 20000, so a Redis Cluster node's bus port (its port + 10000) never lands on another reserved port.
 */
const FIRST = 10_000;
const LAST = 19_999;

/** A TCP port that was free a moment ago on 127.0.0.1, out of the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  return freePortRange(1);
}

/** The first of `count` consecutive TCP ports that were all free a moment ago on 127.0.0.1. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = FIRST + Math.floor(Math.random() * (LAST - FIRST + 2 - count));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found in ${FIRST}-${LAST}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
