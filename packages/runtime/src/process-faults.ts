import type { Logger } from "pino";

/**
 * Makes a process log what would otherwise end it silently. An unhandled promise rejection is a bug
 * in one request's path (a library's callback that nobody awaited), not a broken process: it is
 * logged with its stack and counted, and the process keeps serving everyone else. An uncaught
 * exception leaves the process in an unknown state: it is logged and the process exits 1, so its
 * supervisor restarts it (clients reconnect elsewhere and recover from history).
 *
 * @example
 * const logger = createLogger("gateway", "info", nodeId);
 * guardProcess(logger, () => metrics.unhandled.inc());
 */
export function guardProcess(logger: Logger, onUnhandledRejection?: () => void): void {
  process.on("unhandledRejection", (reason: unknown) => {
    logger.error({ err: reason }, "unhandled promise rejection (the process keeps running)");
    onUnhandledRejection?.();
  });
  process.on("uncaughtException", (error: Error) => {
    logger.fatal({ err: error }, "uncaught exception: exiting");
    logger.flush?.();
    process.exit(1);
  });
}
