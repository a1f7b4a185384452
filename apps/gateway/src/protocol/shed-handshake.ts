import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { HubSocket } from "./hub-socket.js";

/** What `socket.handshake.auth` holds once the handshake's token is verified: the same empty object for every socket. */
const VERIFIED_AUTH: Readonly<Record<string, never>> = Object.freeze({});
/** The headers of every admitted connection's upgrade request, once shed; shared. */
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});
const NO_RAW_HEADERS: string[] = Object.freeze([]) as unknown as string[];

/**
 * Lets go of what a connection no longer needs once it is admitted (memory per connection): the
 * JWT in `handshake.auth` (its principal is in `socket.data`; `auth.refresh` brings its own) and
 * the upgrade request's headers, parsed and raw (read by the admission middleware, before). The
 * upgrade `IncomingMessage` itself stays: engine.io's `WebSocketResponse` keeps it through a
 * `close` listener on the TCP socket for the connection's life, so `socket.request` is still
 * there, with no headers. Call it from the `connection` handler, after reading what it needs of the
 * handshake.
 *
 * @example
 * io.on("connection", (socket) => {
 *   const resync = socket.handshake.auth.resync === true;
 *   shedHandshake(socket);
 * });
 */
export function shedHandshake(socket: HubSocket): void {
  socket.handshake.auth = VERIFIED_AUTH;
  socket.handshake.headers = NO_HEADERS;
  const request = (socket.conn as unknown as { request?: IncomingMessage }).request;
  if (request) {
    request.headers = NO_HEADERS;
    request.rawHeaders = NO_RAW_HEADERS;
  }
}
