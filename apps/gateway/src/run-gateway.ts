import type { AddressInfo } from "node:net";
import type { HubConfig } from "@hub/runtime";
import type { Logger } from "pino";
import { createEngine } from "./engine/create-engine.js";
import { createGateway, type Gateway } from "./gateway.js";
import { VERSION } from "./version.js";

export interface RunningGateway {
  gateway: Gateway;
  address: AddressInfo;
}

/**
 * Starts a gateway node: listens at once, logs `listening`, then `ready` when it has joined the
 * cluster (with Redis down it keeps serving `/health` with 503 until Redis is back).
 */
export async function runGateway(config: HubConfig, logger: Logger): Promise<RunningGateway> {
  const engine = createEngine(config, logger);
  const gateway = createGateway({ config, engine, logger });
  const address = await gateway.listen();
  const health = gateway.healthAddress();
  logger.info(
    { host: address.address, port: address.port, ...(health ? { health_port: health.port } : {}), engine: engine.kind, version: VERSION },
    "listening",
  );
  gateway.ready().then(
    () => logger.info({ port: address.port }, "ready"),
    (error: unknown) => logger.error({ err: error }, "could not join the cluster"),
  );
  return { gateway, address };
}
