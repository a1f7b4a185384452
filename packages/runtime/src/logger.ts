import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

/**
 * Credential fields, at the top level and one level down, and request headers two levels down
 * (`req.headers.authorization`). The code logs none of them; this catches a mistake.
 */
const REDACT = [
  ...["token", "authorization", "apiKey", "password", "passwordHash", "secret", "sessionId", "cookie"].flatMap((f) => [f, `*.${f}`]),
  '["x-api-key"]',
  '*["x-api-key"]',
  "*.headers.authorization",
  "*.headers.cookie",
  '*.headers["x-api-key"]',
  // ioredis errors carry the failed command with its arguments: AUTH's is the password.
  "*.command.args",
];

/** JSON lines on stdout (or `destination`), one per notable event; secrets never reach them. */
export function createLogger(service: string, level: string, nodeId: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service, node: nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT, censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
