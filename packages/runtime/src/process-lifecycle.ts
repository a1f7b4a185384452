import type { Logger } from "pino";
import { ConfigError } from "./config-error.js";
import type { Env } from "./env-readers.js";
import { type HubConfig, loadConfig, type ProcessRole } from "./hub-config.js";

/**
 * Loads the configuration or ends the process with one human-readable line on stderr naming the
 * variable at fault (exit code 1).
 */
export function loadConfigOrExit(env: Env, role: ProcessRole): HubConfig {
  try {
    return loadConfig(env, role);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${role}: invalid configuration: ${error.message}\n`);
    process.exit(1);
  }
}

/**
 * On SIGTERM or SIGINT runs `drain` once, bounded by `timeoutMs`, then exits 0. A second signal
 * exits at once.
 */
export function exitOnSignal(logger: Logger, timeoutMs: number, drain: () => Promise<void>): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    draining = true;
    logger.info({ signal, timeoutMs }, "draining");
    const deadline = setTimeout(() => {
      logger.warn({ timeoutMs }, "drain timed out: exiting");
      process.exit(0);
    }, timeoutMs);
    deadline.unref();
    drain().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "drain failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
