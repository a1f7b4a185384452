import type { ClientToServerEvents, Envelope, ServerToClientEvents } from "@hub/events";
import { io, type Socket } from "socket.io-client";

export type HubClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectOptions {
  transports?: Array<"websocket" | "polling">;
  /** Extra handshake `auth` fields, or a replacement (`{}` connects without a token). */
  auth?: Record<string, unknown>;
  /** Keep cookies between requests (sticky sessions behind a load balancer need it for polling). @default false */
  withCredentials?: boolean;
}

const open = new Set<HubClient>();

/** Connects and resolves once connected; rejects with the `connect_error`. */
export function connectClient(url: string, token: string | undefined, options: ConnectOptions = {}): Promise<HubClient> {
  const socket: HubClient = io(url, {
    auth: options.auth ?? { token },
    transports: options.transports ?? ["websocket"],
    reconnection: false,
    forceNew: true,
    withCredentials: options.withCredentials ?? false,
  });
  open.add(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** The `connect_error` a refused handshake produces. */
export async function refusal(url: string, auth: Record<string, unknown>): Promise<{ message: string; data: unknown }> {
  try {
    await connectClient(url, undefined, { auth });
  } catch (error) {
    return { message: (error as Error).message, data: (error as { data?: unknown }).data };
  }
  throw new Error("the handshake was accepted");
}

/** Sends a request and resolves with its acknowledgement. */
export function request<T = unknown>(socket: HubClient, event: string, payload?: unknown): Promise<T> {
  const untyped = socket as unknown as { timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<T> } };
  return payload === undefined ? untyped.timeout(5_000).emitWithAck(event) : untyped.timeout(5_000).emitWithAck(event, payload);
}

/** Records every envelope of one client event. */
export function collect(socket: HubClient, event: string): Envelope[] {
  const seen: Envelope[] = [];
  (socket as unknown as { on(event: string, fn: (msg: Envelope) => void): void }).on(event, (msg) => seen.push(msg));
  return seen;
}

/** Resolves with the next envelope of that event whose id matches (or any, without an id). */
export function nextEvent(socket: HubClient, event: string, id?: string): Promise<Envelope> {
  const untyped = socket as unknown as { on(e: string, fn: (m: Envelope) => void): void; off(e: string, fn: (m: Envelope) => void): void };
  return new Promise((resolve) => {
    const listener = (msg: Envelope) => {
      if (id !== undefined && msg.id !== id) return;
      untyped.off(event, listener);
      resolve(msg);
    };
    untyped.on(event, listener);
  });
}

/** Closes every client this module opened. */
export function closeAllClients(): void {
  for (const socket of open) socket.close();
  open.clear();
}
