import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { AdminUiSettings } from "@hub/runtime";
import { instrument } from "@socket.io/admin-ui";
import express, { type Response, Router } from "express";
import type { Logger } from "pino";
import type { Server } from "socket.io";
import type { HubServer } from "../protocol/hub-socket.js";
import { TokenBucket } from "../protocol/token-bucket.js";

/** The admin UI's namespace (admin-ui's default, which its front end connects to unless told otherwise). */
const ADMIN_NAMESPACE = "/admin";

/** Where the gateway serves the UI's front end: the static build the package ships in ui/dist. */
const ADMIN_UI_PATH = "/admin-ui";

const PACKAGE = import.meta.resolve("@socket.io/admin-ui");
const UI_DIR = fileURLToPath(new URL("../ui/dist/", PACKAGE));

/** Credential checks (bcrypt comparisons) one node does per second at most; the rest are refused. */
const LOGINS_PER_SECOND = 2;
/** How long a signed-in UI may reconnect with its session id instead of the password. */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 1_000;

// The page loads its fonts and icons from Google Fonts and jsDelivr, and talks to this origin only.
const HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net; font-src 'self' data: https://fonts.gstatic.com https://cdn.jsdelivr.net; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export interface AdminUiOptions {
  io: HubServer;
  /** `config.adminUi`: undefined (off) mounts nothing. */
  settings: AdminUiSettings | undefined;
  /** `HUB_NODE_ID`: how the UI names this server. */
  nodeId: string;
  logger: Logger;
}

/**
 * Wires `@socket.io/admin-ui` in when `ADMIN_UI=basic`, and returns the routes serving its front end
 * at `/admin-ui/` (nothing when off; then `/admin` is not a namespace and connecting to it fails).
 *
 * - `/admin` has its own middleware: admin-ui's basic auth (bcrypt) behind a per-node limit on
 *   credential checks. The hub's token middleware guards `/` only, and the admin credentials open
 *   `/admin` only: neither gets into the other.
 * - Read-only: the UI's emit, join, leave and disconnect operations would bypass the hub's publish
 *   pipeline and tenant isolation (put any socket in any org's topic), so they are not offered.
 * - admin-ui's "production" mode: servers, client counts and traffic, each node's `server_stats`
 *   every 2 s through the adapter (so one UI sees every node). Its "development" mode would stream
 *   every socket's handshake headers, data and events (tokens among them) to the UI, and publish
 *   each of them through Redis.
 *
 * May run before the Socket.IO server is attached to its HTTP server: admin-ui then hooks the
 * engine's traffic counters on the next tick.
 */
export function adminUi({ io, settings, nodeId, logger }: AdminUiOptions): Router[] {
  if (!settings) return [];
  const server = io as unknown as Server;
  const namespace = server.of(ADMIN_NAMESPACE);
  const logins = new TokenBucket(LOGINS_PER_SECOND);
  // Runs before admin-ui's own check (registered by instrument below): only a handshake naming the
  // right user makes admin-ui compare a password, and those are what this limits.
  namespace.use((socket, next) => {
    const auth = socket.handshake.auth as { username?: unknown; password?: unknown; sessionId?: unknown } | undefined;
    // admin-ui hands a missing password to bcrypt, whose rejection nobody handles: refuse it here.
    const credentials = typeof auth?.username === "string" && typeof auth.password === "string";
    if (!credentials && typeof auth?.sessionId !== "string") return next(new Error("invalid credentials"));
    if (credentials && auth?.username === settings.username && !logins.take()) return next(new Error("too many attempts"));
    next();
  });
  instrument(server, {
    auth: { type: "basic", username: settings.username, password: settings.passwordHash },
    namespaceName: ADMIN_NAMESPACE,
    readonly: true,
    mode: "production",
    serverId: nodeId,
    store: new ExpiringSessions(SESSION_TTL_MS),
  });
  namespace.on("connection", (socket) => logger.info({ address: socket.handshake.address }, "admin UI connected"));
  logger.info({ namespace: ADMIN_NAMESPACE, ui: `${ADMIN_UI_PATH}/` }, "admin UI enabled");
  return [uiRoutes()];
}

/** The UI's static build at `/admin-ui/` (it routes with `#/...`, so every path is under it). */
function uiRoutes(): Router {
  const router = Router();
  router.use(
    ADMIN_UI_PATH,
    express.static(UI_DIR, {
      index: "index.html",
      redirect: true,
      setHeaders: (res: Response) => res.set(HEADERS),
    }),
  );
  return router;
}

/** admin-ui's session store, with sessions that expire (its InMemoryStore keeps them as long as the process runs). */
class ExpiringSessions {
  readonly #expiries = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  doesSessionExist(sessionId: string): Promise<boolean> {
    const expiry = this.#expiries.get(sessionId);
    if (expiry !== undefined && expiry <= Date.now()) this.#expiries.delete(sessionId);
    return Promise.resolve(expiry !== undefined && expiry > Date.now());
  }

  saveSession(sessionId: string): void {
    const now = Date.now();
    for (const [id, expiry] of this.#expiries) if (expiry <= now) this.#expiries.delete(id);
    // Map order is insertion order: the first is the oldest.
    const oldest = this.#expiries.keys().next();
    if (this.#expiries.size >= MAX_SESSIONS && !oldest.done) this.#expiries.delete(oldest.value);
    this.#expiries.set(sessionId, now + this.ttlMs);
  }
}

/**
 * A bcrypt hash of `password` for `ADMIN_UI_PASSWORD_HASH`, made with the bcrypt admin-ui compares
 * with (its own `bcryptjs` dependency).
 */
export function hashAdminPassword(password: string, rounds = 12): Promise<string> {
  const bcrypt = createRequire(PACKAGE)("bcryptjs") as { hash(password: string, rounds: number): Promise<string> };
  return bcrypt.hash(password, rounds);
}
