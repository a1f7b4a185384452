import type { IncomingHttpHeaders } from "node:http";
import { type ErrorBody, ProtocolError } from "@hub/events";
import type { LimitSettings } from "@hub/runtime";
import type { Logger } from "pino";
import type { ExtendedError } from "socket.io";
import type { LimitName } from "../metrics/metrics.js";
import type { HubServer, HubSocket } from "../protocol/hub-socket.js";
import { TokenBucket } from "../protocol/token-bucket.js";
import { RENEW_INTERVAL_MS, type UserConnection, type UserSessions } from "./user-sessions.js";

/** Past this many addresses the handshake buckets start over (an idle bucket is full anyway). */
const MAX_TRACKED_ADDRESSES = 10_000;

type Next = (err?: ExtendedError) => void;

export interface AdmissionOptions {
  io: HubServer;
  limits: LimitSettings;
  sessions: UserSessions;
  logger: Logger;
  /** Counts a refusal under its limit. */
  refused(limit: LimitName): void;
}

/** Who may connect, and how many: the handshake's limits, per address and per user. */
export interface Admission {
  /** engine.io's `allowRequest` check: at most MAX_PENDING_SESSIONS sessions that have not finished the handshake. */
  pendingSessionsFull(): boolean;
  /** Middleware before the token check: handshakes and connections per address. */
  readonly byAddress: (socket: HubSocket, next: Next) => void;
  /** Middleware after the token check: revoked tokens and connections per user, cluster-wide. */
  readonly byUser: (socket: HubSocket, next: Next) => void;
  /** Call on `connection`: counts the connection. */
  connected(socket: HubSocket): void;
  /** Call on `disconnect`: stops counting it. */
  disconnected(socket: HubSocket): void;
  /** Stops renewing this node's connection entries. */
  stop(): void;
}

/**
 * Connection limits (docs/operations.md "Limits"). Per address, on this node: new handshakes per
 * second (HANDSHAKES_PER_IP_PER_SECOND, `rate_limited`) and open connections
 * (MAX_CONNECTIONS_PER_IP, `too_many_connections`), checked before any token is verified. Per user,
 * cluster-wide in one Redis script: open connections (MAX_CONNECTIONS_PER_USER,
 * `too_many_connections`) and revocation (`token_revoked`). Services are limited per address only.
 */
export function connectionAdmission({ io, limits, sessions, logger, refused }: AdmissionOptions): Admission {
  const handshakes = new Map<string, TokenBucket>();
  const perAddress = new Map<string, number>();
  const refuse = (next: Next, limit: LimitName | undefined, body: ErrorBody, message: string = body.code) => {
    if (limit) refused(limit);
    const error = new Error(message) as ExtendedError;
    error.data = body;
    next(error);
  };

  const renewal = setInterval(() => {
    const connections: UserConnection[] = [];
    for (const socket of io.of("/").sockets.values()) {
      const principal = socket.data.principal;
      if (principal?.kind === "user") connections.push({ orgId: principal.orgId, userId: principal.userId, connectionId: socket.id });
    }
    sessions
      .renew(connections)
      .catch((error: unknown) => logger.warn({ err: error }, "could not renew the connection counts; retried later"));
  }, RENEW_INTERVAL_MS);
  renewal.unref();

  return {
    pendingSessionsFull: () => io.engine.clientsCount - io.of("/").sockets.size >= limits.maxPendingSessions,
    byAddress(socket, next) {
      const address = clientAddress(socket.handshake.address, socket.handshake.headers, limits.trustProxy);
      // Kept only when it is not the peer's (a proxy's X-Forwarded-For): one field less per connection.
      if (address !== socket.handshake.address) socket.data.address = address;
      let bucket = handshakes.get(address);
      if (!bucket) {
        if (handshakes.size >= MAX_TRACKED_ADDRESSES) handshakes.clear();
        bucket = new TokenBucket(limits.handshakesPerIpPerSecond);
        handshakes.set(address, bucket);
      }
      if (!bucket.take()) {
        refuse(next, "handshake_rate", { code: "rate_limited", message: "too many new connections from this address; retry later" });
        return;
      }
      if ((perAddress.get(address) ?? 0) >= limits.maxConnectionsPerIp) {
        const message = `at most ${limits.maxConnectionsPerIp} connections from one address`;
        refuse(next, "connections_per_ip", { code: "too_many_connections", message });
        return;
      }
      next();
    },
    byUser(socket, next) {
      const principal = socket.data.principal;
      if (principal.kind !== "user") {
        next();
        return;
      }
      sessions.admit(principal, socket.id, limits.maxConnectionsPerUser).then(
        (admission) => {
          if (admission === "admitted") next();
          else if (admission === "revoked") {
            refuse(next, undefined, new ProtocolError("token_revoked", "this token was revoked").toJSON(), "unauthorized");
          } else {
            const message = `at most ${limits.maxConnectionsPerUser} connections per user`;
            refuse(next, "connections_per_user", { code: "too_many_connections", message });
          }
        },
        (error: unknown) => {
          logger.warn({ err: error }, "could not check the user's connections: handshake refused");
          refuse(next, undefined, { code: "unavailable", message: "the hub cannot admit connections right now; retry shortly" });
        },
      );
    },
    connected(socket) {
      const address = socket.data.address ?? socket.handshake.address;
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    },
    disconnected(socket) {
      const address = socket.data.address ?? socket.handshake.address;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
      const principal = socket.data.principal;
      if (principal?.kind !== "user") return;
      sessions
        .release({ orgId: principal.orgId, userId: principal.userId, connectionId: socket.id })
        .catch((error: unknown) => logger.warn({ err: error }, "could not release a connection count; it expires by itself"));
    },
    stop: () => clearInterval(renewal),
  };
}

/**
 * The client's address: the peer's, or with TRUST_PROXY the last X-Forwarded-For entry (the one
 * the balancer in front of the gateway added; earlier entries are the client's own word).
 */
export function clientAddress(peer: string, headers: IncomingHttpHeaders, trustProxy: boolean): string {
  if (!trustProxy) return peer;
  const forwarded = headers["x-forwarded-for"];
  const list = Array.isArray(forwarded) ? forwarded.join(",") : forwarded;
  const last = list?.split(",").at(-1)?.trim();
  return last ? last : peer;
}
