import type { Server as HttpServer } from "node:http";
import type { Logger } from "pino";
import type { HubServer } from "./protocol/hub-socket.js";

/** How long a drain waits for its clients to go before closing what is left. */
export const DRAIN_CLIENTS_MS = 5_000;

/**
 * Empties a gateway before it stops, so a rolling restart loses nothing:
 * 1. stop listening (new connections go to the other nodes; the load balancer already sees
 *    `/health/ready` answer 503) and close idle keep-alive connections;
 * 2. close every client's transport: socket.io-client (and the hub SDK) reconnect on their own,
 *    through the load balancer to another node, and recover what they missed from history;
 * 3. wait for them to go (at most DRAIN_CLIENTS_MS), then close the rest.
 * A server-side `disconnect` would not do: socket.io-client does not reconnect after one.
 */
export async function drainClients(io: HubServer, http: HttpServer, logger: Logger): Promise<void> {
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
      timer = setTimeout(resolve, DRAIN_CLIENTS_MS);
    });
    await Promise.race([gone, late]);
    clearTimeout(timer);
  }
  await new Promise<void>((resolve) => io.close(() => resolve()));
  // In-flight HTTP requests (a publish) finish first: their responses say `connection: close`.
  http.closeIdleConnections();
  await stopped;
}
