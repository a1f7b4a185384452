import type { Router } from "express";
import type { HttpMethod } from "./route-spec.js";

/** A (method, path) pair an HTTP server answers, the path in express syntax. */
export interface RegisteredRoute {
  method: HttpMethod;
  path: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  name: string;
  rawPath?: unknown;
  handle: { stack?: Layer[] };
}

/**
 * The routes registered on `routers`, read from their stacks: each route's methods and path, and a
 * static directory mounted at `/x` as `GET /x/` (its index page; its other files are assets).
 *
 * @example
 * registeredRoutes([healthRoutes(options)]); // [{ method: "get", path: "/health" }, ...]
 */
export function registeredRoutes(routers: readonly Router[]): RegisteredRoute[] {
  return routers.flatMap((router) => routesOf(router.stack as unknown as Layer[]));
}

function routesOf(stack: readonly Layer[]): RegisteredRoute[] {
  return stack.flatMap((layer): RegisteredRoute[] => {
    if (layer.route) {
      const { path, methods } = layer.route;
      return Object.keys(methods)
        .filter((m) => m !== "_all")
        .map((method) => ({ method: method as HttpMethod, path }));
    }
    if (layer.name === "serveStatic" && typeof layer.rawPath === "string") return [{ method: "get", path: `${layer.rawPath}/` }];
    if (!layer.handle.stack) return [];
    // A router mounted under a prefix would need its prefix added; none is, so say so if one appears.
    if (layer.rawPath !== "/" && layer.rawPath !== undefined)
      throw new Error(`a router mounted at ${String(layer.rawPath)} is not enumerated`);
    return routesOf(layer.handle.stack);
  });
}
