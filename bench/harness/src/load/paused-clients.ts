import type WebSocket from "ws";
import { DeliveryStats, forConnection, openConnection, type WireProtocol } from "./wire-connection.js";

/**
 * Wire clients that subscribe like the fleet's and then stop reading their TCP socket
 * (`WebSocket.pause()`, which pauses the underlying `net.Socket`): the kernel's buffers fill and the
 * server's own outbound buffer for them grows, as with a client on a stalled network. They live in
 * the harness process; they cost nothing once paused.
 */
export class PausedClients {
  private constructor(private readonly sockets: WebSocket[]) {}

  /**
   * Opens `count` connections over `urls` (connection i to urls[i % urls.length]), subscribed and
   * still reading; `firstIndex` numbers them after the fleet's (`u<index>` where the protocol signs
   * a token per connection). Connections that fail are counted, not thrown.
   */
  static async open(
    urls: readonly string[],
    protocol: WireProtocol,
    range: { count: number; firstIndex: number },
  ): Promise<{ clients: PausedClients; connected: number; failed: number; firstError?: string }> {
    const sockets: WebSocket[] = [];
    let failed = 0;
    let firstError: string | undefined;
    // Their deliveries are not measured; the stats only satisfy openConnection.
    const stats = new DeliveryStats();
    await Promise.all(
      Array.from({ length: range.count }, async (_, i) => {
        try {
          const own = await forConnection(protocol, range.firstIndex + i);
          sockets.push(await openConnection(urls[i % urls.length] as string, own, stats));
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
        }
      }),
    );
    return { clients: new PausedClients(sockets), connected: sockets.length, failed, ...(firstError ? { firstError } : {}) };
  }

  /** Stops reading every socket: from now on only the kernel's buffers, then the server's, take what is sent. */
  pause(): void {
    for (const socket of this.sockets) socket.pause();
  }

  /**
   * Destroys every socket at once. Unread data in a socket's receive buffer makes the kernel answer
   * the close with a reset, so the server drops what it queued for the client at once instead of
   * waiting for a drain that never comes (a graceful close would keep its shutdown waiting).
   */
  close(): void {
    for (const socket of this.sockets.splice(0)) socket.terminate();
  }
}
