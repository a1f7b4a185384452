import { type Logger, pino } from "pino";

/** JSON lines on stdout, one per notable event; secrets never reach them. */
export function createLogger(service: string, level: string, nodeId: string): Logger {
  return pino({
    level,
    base: { service, node: nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ["token", "*.token", "authorization", "*.authorization", "apiKey", "*.apiKey"], censor: "[redacted]" },
  });
}
