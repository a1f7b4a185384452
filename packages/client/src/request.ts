import type { ClientToServerEvents, Failure, PayloadOf, ReplyOf, RequestName, ServerToClientEvents } from "@hub/events";
import type { Socket } from "socket.io-client";
import { HubError } from "./hub-error.js";

export type HubSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

// The protocol's own types, which the gateway's handler table is checked against too: they cannot drift.
export type { PayloadOf, ReplyOf, RequestName };

interface Untyped {
  timeout(ms: number): { emitWithAck(event: string, payload: unknown): Promise<unknown> };
}

/**
 * Sends a request with an acknowledgement and resolves with its success shape; rejects with a
 * `HubError` carrying the server's code, or `timeout`.
 */
export async function request<E extends RequestName>(
  socket: HubSocket,
  event: E,
  payload: PayloadOf<E>,
  timeoutMs: number,
): Promise<ReplyOf<E>> {
  let reply: unknown;
  try {
    reply = await (socket as unknown as Untyped).timeout(timeoutMs).emitWithAck(event, payload);
  } catch {
    // socket.io-client fails a pending request at once when the connection drops: a lost answer, like a late one.
    const why = socket.connected ? `no answer within ${timeoutMs} ms` : "the connection was lost before the answer";
    throw new HubError("timeout", `${event}: ${why}`);
  }
  if (typeof reply !== "object" || reply === null) throw new HubError("internal", `${event}: unexpected answer`);
  if ((reply as { ok?: unknown }).ok !== true) throw HubError.fromBody((reply as Partial<Failure>).error);
  return reply as ReplyOf<E>;
}
