import type { EngineKind } from "@hub/runtime";
import { Type } from "@sinclair/typebox";
import { Router } from "express";
import type { EngineHealth } from "../engine/engine.js";
import type { RouteSpec } from "./route-spec.js";

/** Where the process is in its life; `/health/ready` answers 200 only while `serving`. */
export type Lifecycle = "starting" | "serving" | "draining";

const RedisState = Type.Union(
  ["connected", "disconnected", "disabled"].map((s) => Type.Literal(s)),
  { description: "`disabled` on the memory engine" },
);
const Health = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("degraded")]),
  redis: RedisState,
  version: Type.String({ description: "the gateway's semver" }),
  engine: Type.Union([Type.Literal("redis"), Type.Literal("memory")]),
  node: Type.String({ description: "HUB_NODE_ID" }),
});
const Ready = Type.Object({
  status: Type.Union(["ready", "degraded", "starting", "draining"].map((s) => Type.Literal(s))),
  redis: RedisState,
});
const HEALTH_NOTE = "Also served on HEALTH_PORT when it is set.";

/** The health routes, as registered and as `/openapi.json` describes them. */
export const HEALTH_ROUTES = {
  health: {
    method: "get",
    path: "/health",
    operationId: "health",
    tag: "operations",
    summary: "The node's state and its Redis connection",
    description: HEALTH_NOTE,
    security: "none",
    responses: {
      200: { description: "Healthy", schema: Health },
      503: { description: "Degraded: Redis is unreachable", schema: Health },
    },
    errors: [],
  },
  live: {
    method: "get",
    path: "/health/live",
    operationId: "live",
    tag: "operations",
    summary: "Liveness: 200 while the process runs",
    description: HEALTH_NOTE,
    security: "none",
    responses: { 200: { description: "Alive", schema: Type.Object({ status: Type.Literal("ok") }) } },
    errors: [],
  },
  ready: {
    method: "get",
    path: "/health/ready",
    operationId: "ready",
    tag: "operations",
    summary: "Readiness: 200 when the node can serve",
    description: HEALTH_NOTE,
    security: "none",
    responses: {
      200: { description: "Ready", schema: Ready },
      503: { description: "Starting, draining or without Redis", schema: Ready },
    },
    errors: [],
  },
} as const satisfies Record<string, RouteSpec>;

export interface HealthOptions {
  kind: EngineKind;
  health: EngineHealth;
  version: string;
  nodeId: string;
  lifecycle: () => Lifecycle;
}

/** `GET /health`, `/health/live`, `/health/ready` (docs/protocol.md "HTTP routes"). */
export function healthRoutes({ kind, health, version, nodeId, lifecycle }: HealthOptions): Router {
  const router = Router();

  router.get(HEALTH_ROUTES.health.path, (_req, res) => {
    const redis = health.redisState();
    const healthy = redis !== "disconnected";
    res.status(healthy ? 200 : 503).json({ status: healthy ? "ok" : "degraded", redis, version, engine: kind, node: nodeId });
  });

  router.get(HEALTH_ROUTES.live.path, (_req, res) => {
    res.json({ status: "ok" });
  });

  router.get(HEALTH_ROUTES.ready.path, (_req, res) => {
    const stage = lifecycle();
    const redis = health.redisState();
    const ready = stage === "serving" && redis !== "disconnected";
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : stage === "serving" ? "degraded" : stage, redis });
  });

  return router;
}
