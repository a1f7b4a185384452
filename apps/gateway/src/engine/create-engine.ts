import type { HubConfig } from "@hub/runtime";
import { hubKeys } from "@hub/store";
import type { Logger } from "pino";
import type { Engine } from "./engine.js";
import { createMemoryEngine } from "./memory-engine.js";
import { createRedisEngine } from "./redis-engine.js";

/** The engine the configuration asks for. */
export function createEngine(config: HubConfig, logger: Logger): Engine {
  if (config.engine === "memory" || !config.redis) {
    logger.warn(
      { engine: "memory" },
      "EMBEDDED MEMORY ENGINE: this is a single-node hub; nothing is shared with other processes. Set REDIS_URL to run a cluster.",
    );
    return createMemoryEngine({ dlqMaxStreamsPerSource: config.dlqMaxStreamsPerSource, publishRate: config.clientPublish });
  }
  return createRedisEngine({
    redis: config.redis,
    keys: hubKeys(config.keyPrefix),
    logger,
    presenceTtlMs: config.presenceTtlMs,
    dlqMaxStreamsPerSource: config.dlqMaxStreamsPerSource,
    clientPublish: config.clientPublish,
  });
}
