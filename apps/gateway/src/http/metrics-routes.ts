import { Router } from "express";
import type { GatewayMetrics } from "../metrics/metrics.js";
import type { RouteSpec } from "./route-spec.js";

/** `GET /metrics`, as registered and as `/openapi.json` describes it. */
export const METRICS_ROUTE = {
  method: "get",
  path: "/metrics",
  operationId: "metrics",
  tag: "operations",
  summary: "Prometheus metrics of this node",
  description: "Also served on HEALTH_PORT when it is set.",
  security: "none",
  responses: { 200: { description: "Prometheus text exposition format", contentType: "text/plain" } },
  errors: [],
} as const satisfies RouteSpec;

/** `GET /metrics` in Prometheus text format. */
export function metricsRoutes(metrics: GatewayMetrics): Router {
  const router = Router();
  router.get(METRICS_ROUTE.path, async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
