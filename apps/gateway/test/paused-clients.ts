// Clients that subscribe and then stop reading, for the fault matrix's slow-consumer row: plain
// socket.io-client connections (they do not negotiate `resync`, so past CLIENT_BUFFER_BYTES the
// gateway closes them) whose TCP socket is paused once their subscriptions are confirmed. From then
// on the kernel's buffers fill, then the gateway's own buffer for them: the memory a slow consumer
// costs. Paused sockets cost this process nothing.
import { connectClient, type HubClient, request } from "@hub/devkit";

/** What is used of the `ws` WebSocket under a socket.io-client connection. */
interface RawWebSocket {
  pause(): void;
  terminate(): void;
}

export interface PausedClientsOptions {
  /** Connection i goes straight to urls[i % urls.length] (a gateway, not the balancer). */
  urls: readonly string[];
  token: string;
  topics: readonly string[];
  count: number;
  /** Connections opened per second in all (below the gateways' handshake limit). */
  perSecond: number;
}

export class PausedClients {
  readonly #sockets: HubClient[] = [];

  private constructor() {}

  /** Opens, subscribes and pauses `count` clients; rejects on the first that fails. */
  static async open(options: PausedClientsOptions): Promise<PausedClients> {
    const clients = new PausedClients();
    const startedAt = Date.now();
    const opening: Promise<void>[] = [];
    for (let i = 0; i < options.count; i++) {
      // Pacing, not synchronization: the i-th connection opens at i / perSecond seconds.
      const due = startedAt + (i * 1_000) / options.perSecond;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const opened = clients.#openOne(options.urls[i % options.urls.length] as string, options);
      // Handled at once (a failure while the loop still paces would be an unhandled rejection), and
      // reported by Promise.all below.
      opened.catch(() => undefined);
      opening.push(opened);
    }
    try {
      await Promise.all(opening);
    } catch (error) {
      clients.close();
      throw error;
    }
    return clients;
  }

  get count(): number {
    return this.#sockets.length;
  }

  async #openOne(url: string, { token, topics }: PausedClientsOptions): Promise<void> {
    const socket = await connectClient(url, token);
    this.#sockets.push(socket);
    for (const topic of topics) {
      const reply = await request<{ ok: boolean; error?: unknown }>(socket, "subscribe", { topic });
      if (!reply.ok) throw new Error(`subscribe ${topic} refused: ${JSON.stringify(reply.error)}`);
    }
    wsOf(socket).pause();
  }

  /** Destroys every socket (unread data makes the kernel answer with a reset: nothing lingers). */
  close(): void {
    for (const socket of this.#sockets.splice(0)) {
      wsOf(socket).terminate();
      socket.close();
    }
  }
}

/** The `ws` WebSocket under a socket.io-client connection on the websocket transport. */
function wsOf(socket: HubClient): RawWebSocket {
  const transport = socket.io.engine.transport as unknown as { ws?: RawWebSocket };
  if (!transport.ws) throw new Error("not a WebSocket transport");
  return transport.ws;
}
