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
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
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
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${raw}"`);
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
    throw new ConfigError(name, `is not a valid URL: "${redactUrl(raw)}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(" or ")}, got "${parsed.protocol}"`);
  }
  return raw;
}

/** Hides the password of a URL so it can be printed. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}
