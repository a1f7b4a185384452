import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import type { Env } from "./env-readers.js";
import { loadConfig, type ProcessRole } from "./hub-config.js";

/** The least a gateway needs in development. */
const DEV: Env = { JWT_SECRET: "user-secret", INTERNAL_JWT_SECRET: "internal-secret" };

const LONG_USER_SECRET = "u".repeat(32);
const LONG_INTERNAL_SECRET = "i".repeat(32);

/** A complete, valid production environment. */
const PROD: Env = {
  NODE_ENV: "production",
  REDIS_URL: "redis://redis:6379",
  JWT_SECRET: LONG_USER_SECRET,
  INTERNAL_JWT_SECRET: LONG_INTERNAL_SECRET,
  CORS_ORIGINS: "https://app.example.com",
};

function configError(env: Env, role: ProcessRole = "gateway"): ConfigError {
  try {
    loadConfig(env, role);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError, the configuration loaded");
}

/** Asserts a refusal naming `variable`, with a one-line message that starts with the variable's name. */
function expectRefused(env: Env, variable: string, role: ProcessRole = "gateway"): ConfigError {
  const error = configError(env, role);
  expect(error.variable).toBe(variable);
  expect(error.message.startsWith(`${variable} `)).toBe(true);
  expect(error.message).not.toMatch(/[\r\n]/);
  expect(error.message.trim()).toBe(error.message);
  expect(error.message.length).toBeGreaterThan(variable.length + 5);
  return error;
}

describe("loadConfig defaults", () => {
  it("fills in every default in development", () => {
    const config = loadConfig(DEV, "gateway");
    expect(config).toEqual({
      nodeEnv: "development",
      nodeId: `${hostname()}-${process.pid}`,
      port: 4000,
      host: "0.0.0.0",
      metricsPort: 9464,
      healthPort: undefined,
      engine: "memory",
      engineExplicit: false,
      redis: undefined,
      keyPrefix: "hub",
      auth: {
        jwtSecret: "user-secret",
        jwksUrl: undefined,
        issuer: undefined,
        audience: undefined,
        internalSecret: "internal-secret",
        maxTtlS: 604_800,
        clockSkewS: 60,
      },
      scraperApiKey: undefined,
      legacyChannelPattern: "prostaff:events:*",
      backendApiUrl: undefined,
      checkInTimeoutMs: 60_000,
      rtc: { ringTimeoutMs: 60_000, maxCallDurationMs: 14_400_000, huddleGraceMs: 10_000, huddleMaxParticipants: 50, sweepMs: 1_000 },
      push: undefined,
      queueLeaseTtlMs: 5_000,
      presenceTtlMs: 12_000,
      legacyMembershipTtlMs: 10_000,
      legacyMaxInFlight: 2_000,
      dlqMaxStreamsPerSource: 1_000,
      corsOrigins: "*",
      namespaces: [],
      authz: undefined,
      grantTokenOrg: "optional",
      clientPublish: { ratePerSecond: 20, burst: 40, streamLength: 100_000 },
      limits: {
        maxSubscriptionsPerSocket: 200,
        subscribeRatePerSecond: 50,
        maxMessageBytes: 65_536,
        requestRatePerSecond: 100,
        clientBufferBytes: 1_048_576,
        maxConnectionsPerUser: 20,
        maxConnectionsPerIp: 500,
        handshakesPerIpPerSecond: 50,
        maxPendingSessions: 1_000,
        httpPublishRatePerSecond: 200,
        trustProxy: false,
      },
      shutdownTimeoutMs: 10_000,
      writeDelayMs: 0,
      consoleEnabled: true,
      adminUi: undefined,
      logLevel: "info",
    });
  });

  it("picks the redis engine when REDIS_URL is set", () => {
    const config = loadConfig({ ...DEV, REDIS_URL: "redis://:pw@localhost:6380/2", REDIS_PASSWORD: "extra" }, "gateway");
    expect(config.engine).toBe("redis");
    expect(config.engineExplicit).toBe(false);
    expect(config.redis).toEqual({
      target: { kind: "single", url: "redis://:pw@localhost:6380/2" },
      password: "extra",
      sentinelPassword: undefined,
      pubsub: "classic",
    });
  });

  it("accepts rediss:// URLs", () => {
    expect(loadConfig({ ...DEV, REDIS_URL: "rediss://redis.example.com:6380" }, "gateway").redis?.target).toEqual({
      kind: "single",
      url: "rediss://redis.example.com:6380",
    });
  });

  it("runs on a Redis Cluster with REDIS_CLUSTER_NODES, sharded pub/sub by default", () => {
    const config = loadConfig({ ...DEV, REDIS_URL: undefined, REDIS_CLUSTER_NODES: "10.0.0.1:7000, redis-b:7001,[::1]:7002" }, "gateway");
    expect(config.engine).toBe("redis");
    expect(config.redis?.target).toEqual({
      kind: "cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "redis-b", port: 7001 },
        { host: "::1", port: 7002 },
      ],
    });
    expect(config.redis?.pubsub).toBe("sharded");
    expect(loadConfig({ ...DEV, REDIS_URL: undefined, REDIS_CLUSTER_NODES: "a:1", HUB_PUBSUB: "classic" }, "gateway").redis?.pubsub).toBe(
      "classic",
    );
  });

  it("runs on a Sentinel-managed Redis with REDIS_SENTINELS and REDIS_SENTINEL_NAME", () => {
    const config = loadConfig(
      { ...DEV, REDIS_URL: undefined, REDIS_SENTINELS: "s1:26379,s2:26379", REDIS_SENTINEL_NAME: "hub", HUB_PUBSUB: "sharded" },
      "worker",
    );
    expect(config.redis?.target).toEqual({
      kind: "sentinel",
      name: "hub",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26379 },
      ],
    });
    expect(config.redis?.pubsub).toBe("sharded");
  });

  it.each([
    [{ HUB_NODE_ID: "gw-{1}" }, "HUB_NODE_ID", "without braces"],
    [{ HUB_NODE_ID: "gw 1" }, "HUB_NODE_ID", "without braces, spaces"],
    [{ REDIS_CLUSTER_NODES: "a:1" }, "REDIS_CLUSTER_NODES", "cannot be set together with REDIS_URL"],
    [{ REDIS_URL: undefined, REDIS_CLUSTER_NODES: "a:1", REDIS_SENTINELS: "s:1", REDIS_SENTINEL_NAME: "m" }, "REDIS_SENTINELS", "together"],
    [{ REDIS_URL: undefined, REDIS_CLUSTER_NODES: "a" }, "REDIS_CLUSTER_NODES", "host:port"],
    [{ REDIS_URL: undefined, REDIS_CLUSTER_NODES: "a:70000" }, "REDIS_CLUSTER_NODES", "host:port"],
    [{ REDIS_URL: undefined, REDIS_SENTINELS: "s:1" }, "REDIS_SENTINEL_NAME", "is required"],
    [{ REDIS_URL: undefined, REDIS_SENTINEL_NAME: "m" }, "REDIS_SENTINELS", "is required"],
    [{ HUB_PUBSUB: "fast" }, "HUB_PUBSUB", "must be one of classic, sharded"],
  ] as const)("refuses %j naming %s", (env, variable, message) => {
    const error = expectRefused({ ...DEV, REDIS_URL: "redis://localhost:6379", ...env }, variable);
    expect(error.message).toContain(message);
  });

  it("treats blank variables as unset", () => {
    const config = loadConfig({ ...DEV, PORT: "  ", REDIS_URL: "", HOST: "", CORS_ORIGINS: " " }, "gateway");
    expect(config.port).toBe(4000);
    expect(config.engine).toBe("memory");
    expect(config.host).toBe("0.0.0.0");
    expect(config.corsOrigins).toBe("*");
  });

  it("reads the other variables", () => {
    const config = loadConfig(
      {
        ...DEV,
        NODE_ENV: "test",
        HUB_NODE_ID: "node-a",
        PORT: "8080",
        HOST: "127.0.0.1",
        HUB_KEY_PREFIX: "hub-test.1",
        JWT_ISSUER: "https://auth.example.com",
        JWT_AUDIENCE: "hub",
        SCRAPER_API_KEY: "scraper",
        LEGACY_CHANNEL_PATTERN: "legacy:*",
        BACKEND_API_URL: "https://api.example.com",
        CHECK_IN_TIMEOUT_MS: "30000",
        MAX_SUBSCRIPTIONS_PER_SOCKET: "10",
        SUBSCRIBE_RATE_PER_SECOND: "5",
        MAX_MESSAGE_BYTES: "2048",
        REQUEST_RATE_PER_SECOND: "30",
        CLIENT_BUFFER_BYTES: "65536",
        MAX_CONNECTIONS_PER_USER: "3",
        MAX_CONNECTIONS_PER_IP: "40",
        HANDSHAKES_PER_IP_PER_SECOND: "7",
        MAX_PENDING_SESSIONS: "9",
        HTTP_PUBLISH_RATE_PER_SECOND: "11",
        TRUST_PROXY: "true",
        SHUTDOWN_TIMEOUT_MS: "0",
        LOG_LEVEL: "silent",
      },
      "gateway",
    );
    expect(config).toMatchObject({
      nodeEnv: "test",
      nodeId: "node-a",
      port: 8080,
      host: "127.0.0.1",
      keyPrefix: "hub-test.1",
      auth: { issuer: "https://auth.example.com", audience: "hub" },
      scraperApiKey: "scraper",
      legacyChannelPattern: "legacy:*",
      backendApiUrl: "https://api.example.com",
      checkInTimeoutMs: 30_000,
      limits: {
        maxSubscriptionsPerSocket: 10,
        subscribeRatePerSecond: 5,
        maxMessageBytes: 2048,
        requestRatePerSecond: 30,
        clientBufferBytes: 65_536,
        maxConnectionsPerUser: 3,
        maxConnectionsPerIp: 40,
        handshakesPerIpPerSecond: 7,
        maxPendingSessions: 9,
        httpPublishRatePerSecond: 11,
        trustProxy: true,
      },
      shutdownTimeoutMs: 0,
      logLevel: "silent",
    });
  });

  it("loads a complete production environment", () => {
    const config = loadConfig(PROD, "gateway");
    expect(config.nodeEnv).toBe("production");
    expect(config.engine).toBe("redis");
    expect(config.corsOrigins).toEqual(["https://app.example.com"]);
    // Subscription tokens must name the org in production (tenants never share a conversation).
    expect(config.grantTokenOrg).toBe("required");
    expect(loadConfig({ ...PROD, GRANT_TOKEN_ORG: "optional" }, "gateway").grantTokenOrg).toBe("optional");
  });

  it("refuses an unknown NODE_ENV", () => {
    expectRefused({ ...DEV, NODE_ENV: "staging" }, "NODE_ENV");
  });
});

describe("PORT", () => {
  it.each([["0"], ["1"], ["65535"], [" 8080 "]])("accepts %j", (port) => {
    expect(loadConfig({ ...DEV, PORT: port }, "gateway").port).toBe(Number(port.trim()));
  });

  it.each([["abc"], ["80.5"], ["8080a"], ["0x50"], ["1e3"], ["80 80"]])("refuses the non-integer %j", (port) => {
    const error = expectRefused({ ...DEV, PORT: port }, "PORT");
    expect(error.message).toContain("integer");
  });

  it.each([["65536"], ["-1"], ["100000"]])("refuses the out-of-range %j", (port) => {
    const error = expectRefused({ ...DEV, PORT: port }, "PORT");
    expect(error.message).toContain("between 0 and 65535");
  });
});

describe("METRICS_PORT", () => {
  const WORKER: Env = { INTERNAL_JWT_SECRET: "internal-secret", REDIS_URL: "redis://localhost:6379" };

  it("defaults to 9464 and takes 0 for a free port", () => {
    expect(loadConfig(WORKER, "worker").metricsPort).toBe(9464);
    expect(loadConfig({ ...WORKER, METRICS_PORT: "0" }, "worker").metricsPort).toBe(0);
    expect(loadConfig({ ...WORKER, METRICS_PORT: " 9100 " }, "worker").metricsPort).toBe(9100);
  });

  it.each([["65536"], ["-1"], ["metrics"], ["91.5"]])("refuses %j", (port) => {
    expectRefused({ ...WORKER, METRICS_PORT: port }, "METRICS_PORT", "worker");
  });
});

describe("HEALTH_PORT", () => {
  it("is off unless set, and takes 0 for a free port", () => {
    expect(loadConfig(DEV, "gateway").healthPort).toBeUndefined();
    expect(loadConfig({ ...DEV, HEALTH_PORT: "" }, "gateway").healthPort).toBeUndefined();
    expect(loadConfig({ ...DEV, HEALTH_PORT: "0" }, "gateway").healthPort).toBe(0);
    expect(loadConfig({ ...DEV, HEALTH_PORT: "4001" }, "gateway").healthPort).toBe(4001);
  });

  it.each([["65536"], ["-1"], ["health"], ["40.5"]])("refuses %j", (port) => {
    expectRefused({ ...DEV, HEALTH_PORT: port }, "HEALTH_PORT");
  });

  it("refuses PORT's own port (0, a free one each, is fine)", () => {
    expectRefused({ ...DEV, HEALTH_PORT: "4000" }, "HEALTH_PORT");
    expectRefused({ ...DEV, PORT: "5000", HEALTH_PORT: "5000" }, "HEALTH_PORT");
    expect(loadConfig({ ...DEV, PORT: "0", HEALTH_PORT: "0" }, "gateway").healthPort).toBe(0);
  });
});

describe("REDIS_URL", () => {
  it.each([["http://localhost:6379"], ["https://redis"], ["tcp://localhost:6379"], ["localhost:6379"]])(
    "refuses %j, which is not redis:// or rediss://",
    (value) => {
      const error = expectRefused({ ...DEV, REDIS_URL: value }, "REDIS_URL");
      expect(error.message).toContain("redis:");
    },
  );

  it("refuses a value that is not a URL", () => {
    expectRefused({ ...DEV, REDIS_URL: "not a url" }, "REDIS_URL");
  });

  it("does not print the password of an invalid URL", () => {
    const error = expectRefused({ ...DEV, REDIS_URL: "redis://:s3cretpass@redis host:6379" }, "REDIS_URL");
    expect(error.message).not.toContain("s3cretpass");
  });

  it("does not print a password containing '/' (e.g. a base64 secret) of an invalid URL", () => {
    const error = expectRefused({ ...DEV, REDIS_URL: "redis://:Zm9v/YmFy+cXV4@redis:6379" }, "REDIS_URL");
    expect(error.message).not.toContain("Zm9v/YmFy+cXV4");
    expect(error.message).not.toContain("YmFy");
  });
});

describe("HUB_ENGINE", () => {
  it("accepts memory even with REDIS_URL set", () => {
    const config = loadConfig({ ...DEV, REDIS_URL: "redis://localhost:6379", HUB_ENGINE: "memory" }, "gateway");
    expect(config.engine).toBe("memory");
    expect(config.engineExplicit).toBe(true);
  });

  it("accepts redis with REDIS_URL set", () => {
    const config = loadConfig({ ...DEV, REDIS_URL: "redis://localhost:6379", HUB_ENGINE: "redis" }, "gateway");
    expect(config.engine).toBe("redis");
    expect(config.engineExplicit).toBe(true);
  });

  it("refuses redis without REDIS_URL, naming REDIS_URL", () => {
    expectRefused({ ...DEV, HUB_ENGINE: "redis" }, "REDIS_URL");
  });

  it.each([["postgres"], ["Redis"], ["MEMORY"], ["nats"]])("refuses %j", (value) => {
    const error = expectRefused({ ...DEV, HUB_ENGINE: value }, "HUB_ENGINE");
    expect(error.message).toContain("redis, memory");
  });

  it("refuses the derived memory engine with NODE_ENV=production", () => {
    const { REDIS_URL: _omitted, ...withoutRedis } = PROD;
    const error = expectRefused(withoutRedis, "REDIS_URL");
    expect(error.message).toContain("HUB_ENGINE=memory");
  });

  it("allows the memory engine in production when HUB_ENGINE=memory is explicit", () => {
    const { REDIS_URL: _omitted, ...withoutRedis } = PROD;
    const config = loadConfig({ ...withoutRedis, HUB_ENGINE: "memory" }, "gateway");
    expect(config.engine).toBe("memory");
    expect(config.engineExplicit).toBe(true);
    expect(config.redis).toBeUndefined();
  });

  it("also refuses the derived memory engine in production for the worker", () => {
    const { REDIS_URL: _omitted, JWT_SECRET: _alsoOmitted, ...worker } = PROD;
    expectRefused(worker, "REDIS_URL", "worker");
  });
});

describe("JWT_SECRET / JWT_JWKS_URL / INTERNAL_JWT_SECRET", () => {
  it("requires JWT_SECRET for the gateway when no JWKS URL is set", () => {
    const error = expectRefused({ INTERNAL_JWT_SECRET: "internal-secret" }, "JWT_SECRET");
    expect(error.message).toContain("JWT_JWKS_URL");
  });

  it("accepts JWT_JWKS_URL instead of JWT_SECRET", () => {
    const config = loadConfig(
      { INTERNAL_JWT_SECRET: "internal-secret", JWT_JWKS_URL: "https://auth.example.com/.well-known/jwks.json" },
      "gateway",
    );
    expect(config.auth.jwtSecret).toBeUndefined();
    expect(config.auth.jwksUrl).toBe("https://auth.example.com/.well-known/jwks.json");
  });

  it("refuses a JWKS URL that is not http(s)", () => {
    expectRefused({ ...DEV, JWT_JWKS_URL: "ftp://auth.example.com/jwks" }, "JWT_JWKS_URL");
  });

  it("does not require JWT_SECRET for the worker", () => {
    const config = loadConfig({ INTERNAL_JWT_SECRET: "internal-secret" }, "worker");
    expect(config.auth.jwtSecret).toBeUndefined();
    expect(config.auth.internalSecret).toBe("internal-secret");
  });

  it.each(["gateway", "worker"] as const)("requires INTERNAL_JWT_SECRET for the %s", (role) => {
    expectRefused({ JWT_SECRET: "user-secret" }, "INTERNAL_JWT_SECRET", role);
  });

  it("treats a blank INTERNAL_JWT_SECRET as missing", () => {
    expectRefused({ JWT_SECRET: "user-secret", INTERNAL_JWT_SECRET: "   " }, "INTERNAL_JWT_SECRET");
  });

  it("refuses the same secret for user and service tokens", () => {
    const error = expectRefused({ JWT_SECRET: "same-secret", INTERNAL_JWT_SECRET: "same-secret" }, "INTERNAL_JWT_SECRET");
    expect(error.message).toContain("JWT_SECRET");
    expect(error.message).not.toContain("same-secret");
  });

  it("refuses the same secret for the worker too", () => {
    expectRefused({ JWT_SECRET: "same-secret", INTERNAL_JWT_SECRET: "same-secret" }, "INTERNAL_JWT_SECRET", "worker");
  });

  it("refuses a short JWT_SECRET in production", () => {
    const error = expectRefused({ ...PROD, JWT_SECRET: "u".repeat(31) }, "JWT_SECRET");
    expect(error.message).toContain("32");
    expect(error.message).not.toContain("u".repeat(31));
  });

  it("refuses a short INTERNAL_JWT_SECRET in production", () => {
    expectRefused({ ...PROD, INTERNAL_JWT_SECRET: "short" }, "INTERNAL_JWT_SECRET");
  });

  it("refuses a short SCRAPER_API_KEY in production", () => {
    expectRefused({ ...PROD, SCRAPER_API_KEY: "short-key" }, "SCRAPER_API_KEY");
  });

  it("accepts 32-character secrets in production", () => {
    const config = loadConfig({ ...PROD, SCRAPER_API_KEY: "s".repeat(32) }, "gateway");
    expect(config.auth.jwtSecret).toBe(LONG_USER_SECRET);
    expect(config.auth.internalSecret).toBe(LONG_INTERNAL_SECRET);
    expect(config.scraperApiKey).toBe("s".repeat(32));
  });

  it("accepts short secrets outside production", () => {
    expect(loadConfig({ JWT_SECRET: "a", INTERNAL_JWT_SECRET: "b", SCRAPER_API_KEY: "c" }, "gateway").auth.jwtSecret).toBe("a");
  });
});

describe("JWT_MAX_TTL_S / JWT_CLOCK_SKEW_S", () => {
  it("default to 7 days and 60 s", () => {
    expect(loadConfig(DEV, "gateway").auth).toMatchObject({ maxTtlS: 604_800, clockSkewS: 60 });
  });

  it.each([
    [
      { JWT_MAX_TTL_S: "60", JWT_CLOCK_SKEW_S: "0" },
      { maxTtlS: 60, clockSkewS: 0 },
    ],
    [
      { JWT_MAX_TTL_S: "31536000", JWT_CLOCK_SKEW_S: "600" },
      { maxTtlS: 31_536_000, clockSkewS: 600 },
    ],
    [{ JWT_MAX_TTL_S: " 86400 " }, { maxTtlS: 86_400, clockSkewS: 60 }],
  ])("accepts %j", (env, expected) => {
    expect(loadConfig({ ...DEV, ...env }, "gateway").auth).toMatchObject(expected);
  });

  it.each([["59"], ["31536001"], ["0"], ["7d"], ["1.5"]])("refuses JWT_MAX_TTL_S=%j", (value) => {
    expectRefused({ ...DEV, JWT_MAX_TTL_S: value }, "JWT_MAX_TTL_S");
  });

  it.each([["-1"], ["601"], ["1m"]])("refuses JWT_CLOCK_SKEW_S=%j", (value) => {
    expectRefused({ ...DEV, JWT_CLOCK_SKEW_S: value }, "JWT_CLOCK_SKEW_S");
  });
});

describe("CORS_ORIGINS", () => {
  it("defaults to * in development", () => {
    expect(loadConfig(DEV, "gateway").corsOrigins).toBe("*");
  });

  it("accepts * in development", () => {
    expect(loadConfig({ ...DEV, CORS_ORIGINS: "*" }, "gateway").corsOrigins).toBe("*");
  });

  it("parses a comma-separated list, trimming spaces and empty entries", () => {
    expect(
      loadConfig({ ...DEV, CORS_ORIGINS: "https://app.example.com, http://localhost:3000,,https://a.b.c:8443" }, "gateway").corsOrigins,
    ).toEqual(["https://app.example.com", "http://localhost:3000", "https://a.b.c:8443"]);
  });

  it("is required in production", () => {
    const { CORS_ORIGINS: _omitted, ...withoutCors } = PROD;
    expectRefused(withoutCors, "CORS_ORIGINS");
  });

  it("refuses * in production", () => {
    expectRefused({ ...PROD, CORS_ORIGINS: "*" }, "CORS_ORIGINS");
  });

  it.each([
    ["app.example.com"],
    ["https://app.example.com/"],
    ["https://app.example.com/path"],
    ["https://app.example.com?x=1"],
    ["https://app.example.com, example.org"],
    ["null"],
  ])("refuses the malformed origin in %j", (value) => {
    const error = expectRefused({ ...DEV, CORS_ORIGINS: value }, "CORS_ORIGINS");
    expect(error.message).toContain("origin");
  });

  it("keeps the refusal on one line when the value spans several lines", () => {
    expectRefused({ ...DEV, CORS_ORIGINS: "https://app.example.com\nnot an origin" }, "CORS_ORIGINS");
  });
});

describe("HUB_NAMESPACES", () => {
  it("parses extra namespace declarations", () => {
    const config = loadConfig(
      {
        ...DEV,
        HUB_NAMESPACES: JSON.stringify([
          { name: "staff", scope: "org", maxSegments: 3, history: { ttlMs: 60_000, size: 100 }, presence: true },
          { name: "lobby", scope: "authenticated" },
        ]),
      },
      "gateway",
    );
    expect(config.namespaces).toEqual([
      { name: "staff", scope: "org", maxSegments: 3, history: { ttlMs: 60_000, size: 100 }, presence: true },
      { name: "lobby", scope: "authenticated" },
    ]);
  });

  it("accepts pretty-printed JSON over several lines", () => {
    const config = loadConfig({ ...DEV, HUB_NAMESPACES: '[\n  { "name": "lobby", "scope": "authenticated" }\n]\n' }, "gateway");
    expect(config.namespaces).toEqual([{ name: "lobby", scope: "authenticated" }]);
  });

  it.each([["not json"], ["[{name: 'staff'}]"], ["[{"], ['{"name":"staff",}']])("refuses the bad JSON %j", (value) => {
    const error = expectRefused({ ...DEV, HUB_NAMESPACES: value }, "HUB_NAMESPACES");
    expect(error.message).toContain("JSON");
  });

  it.each([
    ["a single object instead of a list", '{"name":"staff","scope":"org"}', "(root)"],
    ["a bad name", '[{"name":"Staff","scope":"org"}]', "0.name"],
    ["an unknown scope", '[{"name":"staff","scope":"admin"}]', "0.scope"],
    ["a missing scope", '[{"name":"lobby","scope":"authenticated"},{"name":"staff"}]', "1.scope"],
    ["maxSegments 0", '[{"name":"staff","scope":"org","maxSegments":0}]', "0.maxSegments"],
    ["maxSegments 9", '[{"name":"staff","scope":"org","maxSegments":9}]', "0.maxSegments"],
    ["a negative history ttl", '[{"name":"staff","scope":"org","history":{"ttlMs":-1,"size":10}}]', "0.history.ttlMs"],
    ["an unknown key", '[{"name":"staff","scope":"org","colour":"red"}]', "0.colour"],
    ["a non-boolean presence", '[{"name":"staff","scope":"org","presence":"yes"}]', "0.presence"],
  ])("refuses %s", (_label, value, path) => {
    const error = expectRefused({ ...DEV, HUB_NAMESPACES: value }, "HUB_NAMESPACES");
    expect(error.message.startsWith(`HUB_NAMESPACES ${path}: `)).toBe(true);
  });
});

describe("CHECK_IN_TIMEOUT_MS", () => {
  it.each([
    ["1000", 1_000],
    ["86400000", 86_400_000],
  ])("accepts the bound %s", (value, expected) => {
    expect(loadConfig({ ...DEV, CHECK_IN_TIMEOUT_MS: value }, "worker").checkInTimeoutMs).toBe(expected);
  });

  it.each([["999"], ["0"], ["-60000"], ["86400001"]])("refuses %s, out of range", (value) => {
    const error = expectRefused({ ...DEV, CHECK_IN_TIMEOUT_MS: value }, "CHECK_IN_TIMEOUT_MS", "worker");
    expect(error.message).toContain("between 1000 and 86400000");
  });

  it.each([["60s"], ["1.5"], ["soon"]])("refuses the non-integer %j", (value) => {
    expectRefused({ ...DEV, CHECK_IN_TIMEOUT_MS: value }, "CHECK_IN_TIMEOUT_MS", "worker");
  });
});

describe("PRESENCE_TTL_MS", () => {
  it("defaults to 12 s, so a dead gateway's users leave presence within 1.25 TTL = 15 s", () => {
    expect(loadConfig(DEV, "gateway").presenceTtlMs).toBe(12_000);
  });

  it.each([
    ["1000", 1_000],
    ["20000", 20_000],
  ])("accepts the bound %s", (value, expected) => {
    expect(loadConfig({ ...DEV, PRESENCE_TTL_MS: value }, "gateway").presenceTtlMs).toBe(expected);
  });

  it.each([["999"], ["20001"], ["12s"]])("refuses %s", (value) => {
    expectRefused({ ...DEV, PRESENCE_TTL_MS: value }, "PRESENCE_TTL_MS");
  });
});

describe("LEGACY_MAX_IN_FLIGHT", () => {
  it("defaults to 2000 and accepts 1 .. 100000", () => {
    expect(loadConfig(DEV, "gateway").legacyMaxInFlight).toBe(2_000);
    expect(loadConfig({ ...DEV, LEGACY_MAX_IN_FLIGHT: "1" }, "gateway").legacyMaxInFlight).toBe(1);
    expect(loadConfig({ ...DEV, LEGACY_MAX_IN_FLIGHT: "100000" }, "gateway").legacyMaxInFlight).toBe(100_000);
  });

  it.each([["0"], ["100001"], ["many"]])("refuses %s", (value) => {
    expectRefused({ ...DEV, LEGACY_MAX_IN_FLIGHT: value }, "LEGACY_MAX_IN_FLIGHT");
  });
});

describe("LEGACY_MEMBERSHIP_TTL_MS", () => {
  it("defaults to 10 s: a dead gateway's share of the legacy channel is taken over within about that", () => {
    expect(loadConfig(DEV, "gateway").legacyMembershipTtlMs).toBe(10_000);
  });

  it.each([
    ["1000", 1_000],
    ["60000", 60_000],
  ])("accepts the bound %s", (value, expected) => {
    expect(loadConfig({ ...DEV, LEGACY_MEMBERSHIP_TTL_MS: value }, "gateway").legacyMembershipTtlMs).toBe(expected);
  });

  it.each([["999"], ["60001"], ["10s"]])("refuses %s", (value) => {
    expectRefused({ ...DEV, LEGACY_MEMBERSHIP_TTL_MS: value }, "LEGACY_MEMBERSHIP_TTL_MS");
  });
});

describe("PUSH_WEBHOOK_URL", () => {
  it("is off unless set", () => {
    expect(loadConfig(DEV, "gateway").push).toBeUndefined();
  });

  it("reads the URL with its defaults: 5 s timeout, 24 h, 32 in flight, 1 s first retry", () => {
    expect(loadConfig({ ...DEV, PUSH_WEBHOOK_URL: "https://api.example.com/push" }, "gateway").push).toEqual({
      url: "https://api.example.com/push",
      timeoutMs: 5_000,
      maxAgeMs: 86_400_000,
      concurrency: 32,
      retryBaseMs: 1_000,
    });
  });

  it("reads the settings", () => {
    const env = {
      ...DEV,
      PUSH_WEBHOOK_URL: "http://b/p",
      PUSH_TIMEOUT_MS: "800",
      PUSH_MAX_AGE_MS: "60000",
      PUSH_CONCURRENCY: "4",
      PUSH_RETRY_BASE_MS: "50",
    };
    expect(loadConfig(env, "gateway").push).toEqual({
      url: "http://b/p",
      timeoutMs: 800,
      maxAgeMs: 60_000,
      concurrency: 4,
      retryBaseMs: 50,
    });
  });

  it.each([
    ["PUSH_WEBHOOK_URL", "ftp://b/p"],
    ["PUSH_WEBHOOK_URL", "not a url"],
    ["PUSH_TIMEOUT_MS", "50"],
    ["PUSH_MAX_AGE_MS", "999"],
    ["PUSH_CONCURRENCY", "0"],
    ["PUSH_RETRY_BASE_MS", "soon"],
  ])("refuses %s=%j", (variable, value) => {
    expectRefused({ ...DEV, PUSH_WEBHOOK_URL: "http://b/p", [variable]: value }, variable);
  });
});

describe("DLQ_MAX_STREAMS_PER_SOURCE", () => {
  it("defaults to 1000 streams per producer path, for the gateway and the worker", () => {
    expect(loadConfig(DEV, "gateway").dlqMaxStreamsPerSource).toBe(1_000);
    expect(loadConfig(DEV, "worker").dlqMaxStreamsPerSource).toBe(1_000);
  });

  it.each([
    ["1", 1],
    ["100000", 100_000],
  ])("accepts the bound %s", (value, expected) => {
    expect(loadConfig({ ...DEV, DLQ_MAX_STREAMS_PER_SOURCE: value }, "gateway").dlqMaxStreamsPerSource).toBe(expected);
  });

  it.each([["0"], ["100001"], ["-5"], ["1e3"], ["many"]])("refuses %j", (value) => {
    expectRefused({ ...DEV, DLQ_MAX_STREAMS_PER_SOURCE: value }, "DLQ_MAX_STREAMS_PER_SOURCE");
  });
});

describe("CONSOLE_ENABLED", () => {
  it("defaults to on outside production and off in production", () => {
    expect(loadConfig(DEV, "gateway").consoleEnabled).toBe(true);
    expect(loadConfig({ ...DEV, NODE_ENV: "test" }, "gateway").consoleEnabled).toBe(true);
    expect(loadConfig(PROD, "gateway").consoleEnabled).toBe(false);
  });

  it("follows an explicit value in any environment", () => {
    expect(loadConfig({ ...PROD, CONSOLE_ENABLED: "true" }, "gateway").consoleEnabled).toBe(true);
    expect(loadConfig({ ...DEV, CONSOLE_ENABLED: "false" }, "gateway").consoleEnabled).toBe(false);
    expect(loadConfig({ ...DEV, CONSOLE_ENABLED: " " }, "gateway").consoleEnabled).toBe(true);
  });

  it.each([["yes"], ["1"], ["TRUE"]])("refuses %j", (value) => {
    expectRefused({ ...DEV, CONSOLE_ENABLED: value }, "CONSOLE_ENABLED");
  });
});

describe("ADMIN_UI", () => {
  // bcrypt hashes of "changeit" (cost 10) and of "x" (cost 4).
  const HASH = "$2b$10$oIVXhNsARQ0jOEOIyO7RpuxunjsRKUCrNjuQpJImCx21KhdmASx.a";
  const CHEAP_HASH = "$2a$04$d4yFt.8AtzVo.YA2xK1ti.d29jDBkHRJhlRtOK6N8gNeN/mhzZmNa";
  const ON: Env = { ADMIN_UI: "basic", ADMIN_UI_USERNAME: "ops", ADMIN_UI_PASSWORD_HASH: HASH };

  it("is off by default, in every environment, even with credentials set", () => {
    expect(loadConfig(DEV, "gateway").adminUi).toBeUndefined();
    expect(loadConfig(PROD, "gateway").adminUi).toBeUndefined();
    expect(loadConfig({ ...DEV, ...ON, ADMIN_UI: "off" }, "gateway").adminUi).toBeUndefined();
  });

  it("reads the credentials with ADMIN_UI=basic, in production too", () => {
    expect(loadConfig({ ...DEV, ...ON }, "gateway").adminUi).toEqual({ username: "ops", passwordHash: HASH });
    expect(loadConfig({ ...PROD, ...ON }, "gateway").adminUi).toEqual({ username: "ops", passwordHash: HASH });
    expect(loadConfig({ ...DEV, ...ON, ADMIN_UI_PASSWORD_HASH: CHEAP_HASH }, "gateway").adminUi?.passwordHash).toBe(CHEAP_HASH);
  });

  it.each([["false"], ["none"], ["on"], ["BASIC"]])("refuses ADMIN_UI=%s: there is no way to turn its authentication off", (value) => {
    expectRefused({ ...DEV, ...ON, ADMIN_UI: value }, "ADMIN_UI");
  });

  it("refuses to start enabled without credentials", () => {
    expectRefused({ ...DEV, ...ON, ADMIN_UI_USERNAME: undefined }, "ADMIN_UI_USERNAME");
    expectRefused({ ...DEV, ...ON, ADMIN_UI_USERNAME: " " }, "ADMIN_UI_USERNAME");
    expectRefused({ ...DEV, ...ON, ADMIN_UI_PASSWORD_HASH: undefined }, "ADMIN_UI_PASSWORD_HASH");
    expectRefused({ ...PROD, ...ON, ADMIN_UI_PASSWORD_HASH: "" }, "ADMIN_UI_PASSWORD_HASH");
  });

  it.each([["changeit"], [`${HASH}x`], ["$2b$10$short"], [HASH.replace("$2b$", "$2x$")], [HASH.replace("$10$", "$03$")]])(
    "refuses a password hash that is not a bcrypt hash (%s), without echoing it",
    (value) => {
      const error = expectRefused({ ...DEV, ...ON, ADMIN_UI_PASSWORD_HASH: value }, "ADMIN_UI_PASSWORD_HASH");
      expect(error.message).not.toContain(value);
    },
  );

  it("refuses a bcrypt cost under 10 in production only", () => {
    expectRefused({ ...PROD, ...ON, ADMIN_UI_PASSWORD_HASH: CHEAP_HASH }, "ADMIN_UI_PASSWORD_HASH");
    expect(loadConfig({ ...DEV, ...ON, NODE_ENV: "test", ADMIN_UI_PASSWORD_HASH: CHEAP_HASH }, "gateway").adminUi).toBeDefined();
  });
});

describe("BACKEND_API_URL / RAILS_API_URL", () => {
  it("reads RAILS_API_URL as an alias", () => {
    expect(loadConfig({ ...DEV, RAILS_API_URL: "http://rails:3000" }, "worker").backendApiUrl).toBe("http://rails:3000");
  });

  it("prefers BACKEND_API_URL over RAILS_API_URL", () => {
    const config = loadConfig({ ...DEV, BACKEND_API_URL: "https://backend.example.com", RAILS_API_URL: "http://rails:3000" }, "worker");
    expect(config.backendApiUrl).toBe("https://backend.example.com");
  });

  it("refuses a BACKEND_API_URL that is not http(s)", () => {
    expectRefused({ ...DEV, BACKEND_API_URL: "redis://backend" }, "BACKEND_API_URL", "worker");
  });

  it("refuses a RAILS_API_URL that is not http(s), naming RAILS_API_URL", () => {
    expectRefused({ ...DEV, RAILS_API_URL: "ftp://rails" }, "RAILS_API_URL", "worker");
  });

  it("refuses a malformed RAILS_API_URL", () => {
    expectRefused({ ...DEV, RAILS_API_URL: "rails:3000 api" }, "RAILS_API_URL", "worker");
  });
});

describe("other variables", () => {
  it.each([["has space"], ["a".repeat(65)], ["hub:prefix"]])("refuses HUB_KEY_PREFIX %j", (value) => {
    expectRefused({ ...DEV, HUB_KEY_PREFIX: value }, "HUB_KEY_PREFIX");
  });

  it("refuses an unknown LOG_LEVEL", () => {
    expectRefused({ ...DEV, LOG_LEVEL: "verbose" }, "LOG_LEVEL");
  });

  it.each([
    ["MAX_SUBSCRIPTIONS_PER_SOCKET", "0"],
    ["SUBSCRIBE_RATE_PER_SECOND", "0"],
    ["MAX_MESSAGE_BYTES", "1023"],
    ["SHUTDOWN_TIMEOUT_MS", "600001"],
  ])("refuses %s=%s", (variable, value) => {
    expectRefused({ ...DEV, [variable]: value }, variable);
  });

  it("keeps the refusal on one line when a value contains a line break", () => {
    expectRefused({ ...DEV, PORT: "80\n80" }, "PORT");
  });
});
