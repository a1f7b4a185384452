import { Counter, collectDefaultMetrics, Registry } from "prom-client";

/** The gateway's Prometheus metrics; one registry per gateway, so tests can run several. Labels stay bounded. */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Events taken in, by producer path, outcome and rejection code (`""` when not rejected). */
  readonly ingested: Counter<"source" | "outcome" | "code">;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "hub_" });
  return {
    registry,
    ingested: new Counter({
      name: "hub_events_ingested_total",
      help: "Events this gateway took in, by producer path (http, webhook, legacy), outcome (accepted, duplicate, rejected, failed) and rejection code.",
      labelNames: ["source", "outcome", "code"],
      registers: [registry],
    }),
  };
}
