import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./hub-config.js";
import { fillDevSecrets, readHubNodes, readMetricsPortIfSet } from "./launch-settings.js";

describe("fillDevSecrets", () => {
  it("generates both secrets on a fresh checkout, and loadConfig accepts them", () => {
    const env: Record<string, string | undefined> = {};
    expect(fillDevSecrets(env)).toEqual(["JWT_SECRET", "INTERNAL_JWT_SECRET"]);
    expect(env.JWT_SECRET).toMatch(/^[\w-]{43}$/);
    expect(env.INTERNAL_JWT_SECRET).not.toBe(env.JWT_SECRET);
    expect(loadConfig(env, "gateway").auth.jwtSecret).toBe(env.JWT_SECRET);
  });

  it.each([["production"], [" production"], ["production\n"]])("generates nothing with NODE_ENV=%j, as loadConfig reads it", (nodeEnv) => {
    const env: Record<string, string | undefined> = { NODE_ENV: nodeEnv };
    expect(fillDevSecrets(env)).toEqual([]);
    expect(env).toEqual({ NODE_ENV: nodeEnv });
    expect(() => loadConfig(env, "gateway")).toThrow(/^REDIS_URL .*production/);
  });

  it("generates nothing with a bad NODE_ENV; loadConfig names it", () => {
    const env: Record<string, string | undefined> = { NODE_ENV: "prod" };
    expect(fillDevSecrets(env)).toEqual([]);
    expect(() => loadConfig(env, "gateway")).toThrow(/^NODE_ENV must be one of/);
  });

  it("treats blank secrets as unset and keeps set ones", () => {
    const env: Record<string, string | undefined> = { JWT_SECRET: "  ", INTERNAL_JWT_SECRET: "kept-internal-secret" };
    expect(fillDevSecrets(env)).toEqual(["JWT_SECRET"]);
    expect(env.JWT_SECRET?.trim()).not.toBe("");
    expect(env.INTERNAL_JWT_SECRET).toBe("kept-internal-secret");
  });

  it("generates no JWT_SECRET when JWT_JWKS_URL is set", () => {
    const env: Record<string, string | undefined> = { JWT_JWKS_URL: " https://idp.example.com/jwks.json " };
    expect(fillDevSecrets(env)).toEqual(["INTERNAL_JWT_SECRET"]);
    expect(env.JWT_SECRET).toBeUndefined();
  });
});

describe("readHubNodes and readMetricsPortIfSet", () => {
  it("reads HUB_NODES (1..16), blank as unset", () => {
    expect(readHubNodes({})).toBeUndefined();
    expect(readHubNodes({ HUB_NODES: " " })).toBeUndefined();
    expect(readHubNodes({ HUB_NODES: " 3 " })).toBe(3);
    for (const bad of ["0", "17", "x", "2.5"]) expect(() => readHubNodes({ HUB_NODES: bad })).toThrow(ConfigError);
  });

  it("reads METRICS_PORT only when set", () => {
    expect(readMetricsPortIfSet({})).toBeUndefined();
    expect(readMetricsPortIfSet({ METRICS_PORT: " 9470 " })).toBe(9470);
    expect(() => readMetricsPortIfSet({ METRICS_PORT: "metrics" })).toThrow(/^METRICS_PORT must be an integer/);
  });
});
