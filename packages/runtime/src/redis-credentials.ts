import type { Logger } from "pino";
import type { ProcessRole } from "./hub-config.js";
import type { RedisSettings } from "./redis-settings.js";

/** Replies with which Redis refuses a connection's credentials. */
const CREDENTIALS_REFUSED = /^(WRONGPASS|NOAUTH)\b|invalid password/;

/** The events of a Redis client (ioredis) this module listens to. */
export interface RedisClientEvents {
  once(event: "ready", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

/**
 * Stops the process (exit 1, one line on stderr naming `REDIS_PASSWORD` or `REDIS_URL`) when Redis
 * refuses the password before `client` was ever ready: a configuration error that retrying cannot
 * fix, caught before the commands ioredis rejects next can surface (a gateway's adapter would never
 * send its SUBSCRIBEs again). Once the client has been ready, a refusal (a password rotated on the
 * server first) is an outage like any other: the client keeps retrying, the process answers 503
 * meanwhile, and its connection-error log says why.
 */
export function stopOnRefusedPassword(client: RedisClientEvents, role: ProcessRole, redis: RedisSettings, logger: Logger): void {
  let ready = false;
  client.once("ready", () => {
    ready = true;
  });
  client.on("error", (error: Error) => {
    if (ready || !CREDENTIALS_REFUSED.test(error.message)) return;
    const variable = redis.password !== undefined ? "REDIS_PASSWORD" : redis.target.kind === "single" ? "REDIS_URL" : "REDIS_PASSWORD";
    logger.fatal({ err: error.message }, `Redis refused the password: check ${variable}`);
    process.stderr.write(`${role}: invalid configuration: ${variable} Redis refused the password (${error.message.split("\n")[0]})\n`);
    process.exit(1);
  });
}
