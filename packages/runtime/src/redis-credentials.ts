import type { Logger } from "pino";
import type { ProcessRole, RedisSettings } from "./hub-config.js";

/** Replies with which Redis refuses a connection's credentials. */
const CREDENTIALS_REFUSED = /^(WRONGPASS|NOAUTH)\b|invalid password/;

/** Whether a Redis client error is Redis refusing the credentials: a configuration error, not an outage. */
export function credentialsRefused(error: Error): boolean {
  return CREDENTIALS_REFUSED.test(error.message);
}

/**
 * Ends the process (exit 1) with one line on stderr naming the variable that holds the refused
 * password, `REDIS_PASSWORD` or `REDIS_URL`. Call it from the client's `error` event, before the
 * commands ioredis rejects next can surface: retrying cannot fix a wrong password, and a gateway's
 * adapter would never send its SUBSCRIBEs again.
 */
export function exitOnRefusedCredentials(role: ProcessRole, redis: RedisSettings, logger: Logger, error: Error): never {
  const variable = redis.password === undefined ? "REDIS_URL" : "REDIS_PASSWORD";
  logger.fatal({ err: error.message }, `Redis refused the password: check ${variable}`);
  process.stderr.write(`${role}: invalid configuration: ${variable} Redis refused the password (${error.message.split("\n")[0]})\n`);
  process.exit(1);
}
