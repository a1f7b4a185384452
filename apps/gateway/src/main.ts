import { createLogger, exitOnSignal, guardProcess, loadConfigOrExit } from "@hub/runtime";
import { runGateway } from "./run-gateway.js";

const config = loadConfigOrExit(process.env, "gateway");
const logger = createLogger("gateway", config.logLevel, config.nodeId);
guardProcess(logger);

try {
  const { gateway } = await runGateway(config, logger);
  exitOnSignal(logger, config.shutdownTimeoutMs, () => gateway.close());
} catch (error) {
  logger.fatal({ err: error }, "gateway failed to start");
  process.exit(1);
}
