import { ProtocolError } from "@hub/events";
import type { Logger } from "pino";
import type { ExtendedError } from "socket.io";
import type { HubSocket } from "../protocol/hub-socket.js";
import { bearerToken } from "./bearer.js";
import type { TokenVerifier } from "./token-verifier.js";

/**
 * Socket.IO middleware: verifies the handshake token. A refusal reaches the client as
 * `connect_error` with `message === "unauthorized"` and `data.code` from the contract.
 */
export function authenticateHandshake(verifier: TokenVerifier, logger: Logger) {
  return (socket: HubSocket, next: (err?: ExtendedError) => void): void => {
    verifier.verify(readToken(socket)).then(
      (principal) => {
        socket.data.principal = principal;
        next();
      },
      (error: unknown) => {
        const body =
          error instanceof ProtocolError ? error.toJSON() : { code: "token_invalid" as const, message: "token could not be verified" };
        logger.debug({ code: body.code, address: socket.handshake.address }, "handshake refused");
        const refusal = new Error("unauthorized") as ExtendedError;
        refusal.data = body;
        next(refusal);
      },
    );
  };
}

/** `auth.token` as the contract says; an `Authorization: Bearer` header also works for non-browser clients. */
function readToken(socket: HubSocket): unknown {
  const auth = socket.handshake.auth as Record<string, unknown> | undefined;
  if (auth?.token !== undefined) return auth.token;
  return bearerToken(socket.handshake.headers.authorization);
}
