import type { Server as HttpServer } from "node:http";
import type { Logger } from "pino";
import type { HubServer } from "./protocol/hub-socket.js";

/** How long a drain waits for its clients to go before closing what is left, at most. */
const DRAIN_CLIENTS_MS = 5_000;

/** The wait for clients within a whole drain of `shutdownTimeoutMs`: half of it, at most 5 s. */
export function clientWaitMs(shutdownTimeoutMs: number): number {
  return Math.min(DRAIN_CLIENTS_MS, Math.floor(shutdownTimeoutMs / 2));
}

/**
 * Empties a gateway before it stops, so a rolling restart loses nothing:
 * 1. stop listening (new connections go to the other nodes; the load balancer already sees
 *    `/health/ready` answer 503) and close idle keep-alive connections;
 * 2. close every client's transport: socket.io-client (and the hub SDK) reconnect on their own,
 *    through the load balancer to another node, and recover what they missed from history;
 * 3. wait for them to go (at most `waitMs`), then close the rest; what is left of the shutdown
 *    timeout goes to removing this node's presence and closing Redis.
 * A server-side `disconnect` would not do: socket.io-client does not reconnect after one.
 */
export async function drainClients(io: HubServer, http: HttpServer, logger: Logger, waitMs: number): Promise<void> {
  const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  const sockets = io.of("/").sockets;
  const count = sockets.size;
  if (count > 0) {
    logger.info({ connections: count }, "draining: asking clients to reconnect to another node");
    const gone = new Promise<void>((resolve) => {
      const check = () => {
        if (sockets.size === 0) resolve();
      };
      for (const socket of sockets.values()) {
        socket.once("disconnect", () => setImmediate(check));
        socket.conn.close();
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([gone, late]);
    clearTimeout(timer);
  }
  await new Promise<void>((resolve) => io.close(() => resolve()));
  // In-flight HTTP requests (a publish) finish first: their responses say `connection: close`.
  http.closeIdleConnections();
  await stopped;
}
