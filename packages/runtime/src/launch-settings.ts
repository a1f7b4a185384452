import { randomBytes } from "node:crypto";
import { type Env, int, str } from "./env-readers.js";
import { readNodeEnv } from "./hub-config.js";

/** Most gateways `pnpm start --cluster N` / `HUB_NODES=N` starts. */
export const MAX_LOCAL_NODES = 16;

/**
 * `HUB_NODES`: how many gateways `pnpm start` runs as a local cluster (1..16); `undefined` when
 * unset or blank. Throws `ConfigError` naming it otherwise.
 */
export function readHubNodes(env: Env): number | undefined {
  if (str(env, "HUB_NODES") === undefined) return undefined;
  return int(env, "HUB_NODES", { default: 0, min: 1, max: MAX_LOCAL_NODES });
}

/**
 * `METRICS_PORT` when it is set (validated as `loadConfig` does), else `undefined`: `pnpm start`
 * then gives its worker a free port rather than the default 9464.
 */
export function readMetricsPortIfSet(env: Env): number | undefined {
  if (str(env, "METRICS_PORT") === undefined) return undefined;
  return int(env, "METRICS_PORT", { default: 0, min: 0, max: 65535 });
}

/**
 * For `pnpm start` outside production: sets random token secrets in `env` for the ones that are
 * unset (blank counts as unset, values are trimmed, `NODE_ENV` read as `loadConfig` reads it, so
 * `" production"` is production here too). Returns the names it generated. A bad `NODE_ENV`
 * generates nothing: `loadConfig` then stops the process naming it.
 */
export function fillDevSecrets(env: Record<string, string | undefined>): string[] {
  let production: boolean;
  try {
    production = readNodeEnv(env) === "production";
  } catch {
    return [];
  }
  if (production) return [];
  const generated: string[] = [];
  if (str(env, "JWT_SECRET") === undefined && str(env, "JWT_JWKS_URL") === undefined) {
    env.JWT_SECRET = randomBytes(32).toString("base64url");
    generated.push("JWT_SECRET");
  }
  if (str(env, "INTERNAL_JWT_SECRET") === undefined) {
    env.INTERNAL_JWT_SECRET = randomBytes(32).toString("base64url");
    generated.push("INTERNAL_JWT_SECRET");
  }
  return generated;
}
