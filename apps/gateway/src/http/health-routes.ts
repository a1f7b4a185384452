import type { EngineKind } from "@hub/runtime";
import { Router } from "express";
import type { EngineHealth } from "../engine/engine.js";

/** Where the process is in its life; `/health/ready` answers 200 only while `serving`. */
export type Lifecycle = "starting" | "serving" | "draining";

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

  router.get("/health", (_req, res) => {
    const redis = health.redisState();
    const healthy = redis !== "disconnected";
    res.status(healthy ? 200 : 503).json({ status: healthy ? "ok" : "degraded", redis, version, engine: kind, node: nodeId });
  });

  router.get("/health/live", (_req, res) => {
    res.json({ status: "ok" });
  });

  router.get("/health/ready", (_req, res) => {
    const stage = lifecycle();
    const redis = health.redisState();
    const ready = stage === "serving" && redis !== "disconnected";
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : stage === "serving" ? "degraded" : stage, redis });
  });

  return router;
}
