import { ConfigError } from "./config-error.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value, with blank treated as unset. */
export function str(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

export function int(env: Env, name: string, spec: { default: number; min: number; max: number }): number {
  const raw = str(env, name);
  if (raw === undefined) return spec.default;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < spec.min || value > spec.max) {
    throw new ConfigError(name, `must be between ${spec.min} and ${spec.max}, got ${value}`);
  }
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[]): T | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

export function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL: ${JSON.stringify(redactUrl(raw))}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(" or ")}, got "${parsed.protocol}"`);
  }
  return raw;
}

/**
 * Hides the password of a URL so it can be printed. Works on strings that do not parse as URLs,
 * and on passwords holding `/` or `@` (everything up to the last `@` is user info).
 */
export function redactUrl(raw: string): string {
  const start = raw.indexOf("//");
  const at = raw.lastIndexOf("@");
  if (start < 0 || at < start) return raw;
  const userInfo = raw.slice(start + 2, at);
  const colon = userInfo.indexOf(":");
  if (colon < 0) return raw;
  return `${raw.slice(0, start + 2)}${userInfo.slice(0, colon)}:***${raw.slice(at)}`;
}
