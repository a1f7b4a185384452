import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import express, { type Response, Router } from "express";
import type { Logger } from "pino";
import { HttpError } from "./http-error.js";
import type { RouteSpec } from "./route-spec.js";

/** The page, its script and its stylesheet (apps/gateway/src/console/). */
const STATIC_DIR = fileURLToPath(new URL("../console/", import.meta.url));

/**
 * The @hub/client browser bundle (IIFE, global `HubClient`), made by `pnpm --filter @hub/client build`.
 * Found from the package's root (its package.json), not its entry point: the workspace resolves the
 * entry to src/, a deployed gateway to dist/esm/.
 */
export const CLIENT_BUNDLE = fileURLToPath(new URL("dist/hub-client.browser.js", import.meta.resolve("@hub/client/package.json")));

const BUILD_HINT = "run `pnpm --filter @hub/client build` once (it makes packages/client/dist/)";

// The page talks to this origin only, runs no inline script, and may not be framed.
const HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

const CONSOLE_NOTE = "Served while CONSOLE_ENABLED is true (the default outside production).";

/** The console's routes, as registered and as `/openapi.json` describes them (its other files are served beside the page). */
export const CONSOLE_ROUTES = {
  page: {
    method: "get",
    path: "/console/",
    operationId: "consolePage",
    tag: "pages",
    summary: "The web console (docs/console.md); its script and stylesheet are served beside it",
    description: CONSOLE_NOTE,
    security: "none",
    responses: { 200: { description: "The page", contentType: "text/html" } },
    errors: ["not_found"],
  },
  bundle: {
    method: "get",
    path: "/console/hub-client.js",
    operationId: "consoleClientBundle",
    tag: "pages",
    summary: "The @hub/client browser bundle (IIFE, global `HubClient`)",
    description: CONSOLE_NOTE,
    security: "none",
    responses: { 200: { description: "The bundle", contentType: "text/javascript" } },
    errors: ["unavailable"],
  },
} as const satisfies Record<string, RouteSpec>;

export interface ConsoleOptions {
  logger: Logger;
  /**
   * The browser bundle to serve at `/console/hub-client.js`.
   * @default CLIENT_BUNDLE
   */
  bundlePath?: string;
}

/**
 * The web console at `/console/`: a static page that signs in with a pasted token and drives the hub
 * through the @hub/client browser bundle (docs/console.md). It holds no secret and calls no HTTP
 * route: everything goes over the socket, with the user's own token.
 */
export function consoleRoutes({ logger, bundlePath = CLIENT_BUNDLE }: ConsoleOptions): Router {
  if (!existsSync(bundlePath)) logger.warn({ bundle: bundlePath }, `web console: the client bundle is missing; ${BUILD_HINT}`);
  const router = Router();
  const secure = (res: Response) => res.set(HEADERS);

  router.get(CONSOLE_ROUTES.bundle.path, (_req, res, next) => {
    // Checked on every request, so building the bundle after the gateway started is enough.
    if (!existsSync(bundlePath)) return next(new HttpError("unavailable", `the client bundle is not built: ${BUILD_HINT}`));
    secure(res)
      .type("text/javascript")
      // dotfiles: a deployed gateway finds the bundle under node_modules/.pnpm/, which send()
      // would refuse as a dot segment; the path is ours, no part of it comes from the request.
      .sendFile(bundlePath, { cacheControl: false, dotfiles: "allow" }, (error) => error && next(error));
  });
  router.use(
    CONSOLE_ROUTES.page.path.slice(0, -1),
    express.static(STATIC_DIR, {
      index: "index.html",
      // `/console` -> `/console/`, so the page's relative URLs work behind a path prefix too.
      redirect: true,
      cacheControl: false,
      setHeaders: secure,
    }),
  );
  return router;
}
