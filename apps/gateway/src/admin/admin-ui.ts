import { fileURLToPath } from "node:url";
import type { AdminUiSettings } from "@hub/runtime";
import { instrument } from "@socket.io/admin-ui";
import express, { type Response, Router } from "express";
import type { Logger } from "pino";
import type { Server } from "socket.io";
import type { RouteSpec } from "../http/route-spec.js";
import type { HubServer } from "../protocol/hub-socket.js";
import { adminAuthentication, adminBcrypt } from "./admin-auth.js";

/** The admin UI's namespace (admin-ui's default, which its front end connects to unless told otherwise). */
const ADMIN_NAMESPACE = "/admin";

/** Where the gateway serves the UI's front end: the static build the package ships in ui/dist. */
const ADMIN_UI_PATH = "/admin-ui";

/** The UI's page, as registered and as `/openapi.json` describes it (its assets are served beside it). */
export const ADMIN_UI_ROUTE = {
  method: "get",
  path: `${ADMIN_UI_PATH}/`,
  operationId: "adminUiPage",
  tag: "pages",
  summary: "The Socket.IO admin UI (read-only), which signs in on the `/admin` namespace",
  description: "Served while ADMIN_UI=basic.",
  security: "none",
  responses: { 200: { description: "The page", contentType: "text/html" } },
  errors: ["not_found"],
} as const satisfies RouteSpec;

const PACKAGE = import.meta.resolve("@socket.io/admin-ui");
const UI_DIR = fileURLToPath(new URL("../ui/dist/", PACKAGE));

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
 * - `/admin` has its own middleware (admin-auth.ts): the admin credentials or a session id, every
 *   attempt at the same cost, behind a per-node limit on credential checks. The hub's token
 *   middleware guards `/` only, and the admin credentials open `/admin` only: neither gets into
 *   the other.
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
  namespace.use(adminAuthentication(settings, logger));
  instrument(server, {
    // Checked by adminAuthentication above; admin-ui's own check crashed on a missing password.
    auth: false,
    namespaceName: ADMIN_NAMESPACE,
    readonly: true,
    mode: "production",
    serverId: nodeId,
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

/**
 * A bcrypt hash of `password` for `ADMIN_UI_PASSWORD_HASH`, made with the bcrypt admin-ui compares
 * with (its own `bcryptjs` dependency).
 */
export function hashAdminPassword(password: string, rounds = 12): Promise<string> {
  return adminBcrypt().hash(password, rounds);
}
