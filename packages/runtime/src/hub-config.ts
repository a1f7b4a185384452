import { hostname } from "node:os";
import { KEY_PREFIX, type NamespaceSpec, parseNamespaceSpecs, TopicRegistry } from "@hub/events";
import { ConfigError } from "./config-error.js";
import { type Env, int, oneOf, str, url } from "./env-readers.js";
import { type RedisSettings, readRedisSettings } from "./redis-settings.js";

export type NodeEnv = "development" | "production" | "test";
export type EngineKind = "redis" | "memory";

/** Which process reads the configuration; each requires a different subset. */
export type ProcessRole = "gateway" | "worker";

export interface AuthSettings {
  /** HS256 secret for user tokens. */
  jwtSecret: string | undefined;
  /** JWKS endpoint for RS256/ES256/EdDSA user tokens. */
  jwksUrl: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  /** HS256 secret for service-to-service tokens. */
  internalSecret: string;
  /**
   * `JWT_MAX_TTL_S`, default 604800 (7 days): the longest a token, user or service, may live: `exp`
   * at most this far from now, and from `iat` when it has one.
   */
  maxTtlS: number;
  /** `JWT_CLOCK_SKEW_S`, default 60: how far ahead of this clock a token's `iat` or `nbf` may be. */
  clockSkewS: number;
}

/** `ADMIN_UI=basic`: the Socket.IO admin UI's `/admin` namespace, behind these credentials. */
export interface AdminUiSettings {
  /** `ADMIN_UI_USERNAME`. */
  username: string;
  /** `ADMIN_UI_PASSWORD_HASH`: a bcrypt hash of the password, which is what `@socket.io/admin-ui` compares against. */
  passwordHash: string;
}

export interface LimitSettings {
  /** `MAX_SUBSCRIPTIONS_PER_SOCKET`, default 200. */
  maxSubscriptionsPerSocket: number;
  /** `SUBSCRIBE_RATE_PER_SECOND`: subscribe requests per socket per second, default 50. */
  subscribeRatePerSecond: number;
  /** `MAX_MESSAGE_BYTES`: largest client message, default 64 KiB. */
  maxMessageBytes: number;
  /** `REQUEST_RATE_PER_SECOND`: requests of any kind per connection per second, default 100. */
  requestRatePerSecond: number;
  /** `CLIENT_BUFFER_BYTES`: a connection's outbound bytes not yet written to the kernel, at most; default 1 MiB. */
  clientBufferBytes: number;
  /** `MAX_CONNECTIONS_PER_USER`: a user's connections across the cluster, default 20. */
  maxConnectionsPerUser: number;
  /** `MAX_CONNECTIONS_PER_IP`: connections from one address to one gateway, default 500. */
  maxConnectionsPerIp: number;
  /** `HANDSHAKES_PER_IP_PER_SECOND`: new connections from one address to one gateway per second, default 50. */
  handshakesPerIpPerSecond: number;
  /** `MAX_PENDING_SESSIONS`: engine.io sessions on one gateway that have not completed the Socket.IO handshake, default 1000. */
  maxPendingSessions: number;
  /** `HTTP_PUBLISH_RATE_PER_SECOND`: publish requests per service per gateway per second, default 200. */
  httpPublishRatePerSecond: number;
  /** `TRUST_PROXY`: take the client's address from X-Forwarded-For (the last entry, added by the balancer), default false. */
  trustProxy: boolean;
}

/** `AUTHZ_URL` and its settings: where a gateway asks whether a user may use a granted topic. */
export interface AuthzSettings {
  /** `AUTHZ_URL`: POSTed `{ action, user_id, org_id, topic }` with a service token. */
  url: string;
  /** `AUTHZ_TIMEOUT_MS`, default 2000, at most 3500 (below a request's own 4 s): slower answers refuse with `unavailable` (fail closed). */
  timeoutMs: number;
  /** `AUTHZ_CACHE_MS`, default 30000: how long a grant is kept per (user, topic, action); 0 keeps none. Refusals are never kept. */
  cacheMs: number;
}

/** `PUSH_WEBHOOK_URL` and its settings: where pushes for offline users go (docs/operations.md "Push hook"). */
export interface PushSettings {
  /** `PUSH_WEBHOOK_URL`: POSTed `{ kind, id, user_id, org_id, topic, event, data, ts }` with a service token (audience `hub-push`). */
  url: string;
  /** `PUSH_TIMEOUT_MS`, default 5000: an attempt not answered within it is retried. */
  timeoutMs: number;
  /** `PUSH_MAX_AGE_MS`, default 86400000 (24 h): how long after the offer a push is retried before it is given up. */
  maxAgeMs: number;
  /** `PUSH_CONCURRENCY`, default 32: attempts in flight per gateway. */
  concurrency: number;
  /** `PUSH_RETRY_BASE_MS`, default 1000: the first retry's delay, doubled per attempt up to 5 minutes (with jitter). */
  retryBaseMs: number;
}

export interface ClientPublishSettings {
  /** `CLIENT_PUBLISH_RATE`, default 20: a user's durable publications per second across every gateway (an ephemeral one costs a tenth). */
  ratePerSecond: number;
  /** `CLIENT_PUBLISH_BURST`, default 40: how many a user may publish at once before the rate applies. */
  burst: number;
  /** `CLIENT_EVENT_STREAM_LENGTH`, default 100000: entries each client-event stream bucket keeps at most (approximate trim). */
  streamLength: number;
}

/** Every setting of a hub process, validated. */
export interface HubConfig {
  nodeEnv: NodeEnv;
  /** `HUB_NODE_ID`, default `<hostname>-<pid>`: names this process in logs and health. */
  nodeId: string;
  port: number;
  host: string;
  /**
   * `METRICS_PORT`, default 9464: the queue-worker's HTTP port for `/metrics` and `/health` (0 picks
   * a free one). Gateways serve `/metrics` on `PORT` and ignore it.
   */
  metricsPort: number;
  /**
   * `HEALTH_PORT`, unset by default: a gateway's second listener for `/health*` and `/metrics` only
   * (0 picks a free one). A load balancer that checks it is answered even while thousands of
   * clients queue to connect on `PORT` (a reconnect storm), so a busy node is not taken for a dead one.
   */
  healthPort: number | undefined;
  engine: EngineKind;
  /** Whether `HUB_ENGINE` was set rather than derived. */
  engineExplicit: boolean;
  redis: RedisSettings | undefined;
  /** `HUB_KEY_PREFIX`, default `hub`: every Redis key and channel starts with it. */
  keyPrefix: string;
  auth: AuthSettings;
  scraperApiKey: string | undefined;
  legacyChannelPattern: string;
  backendApiUrl: string | undefined;
  checkInTimeoutMs: number;
  /** `QUEUE_LEASE_TTL_MS`, default 5000: how long a dead worker's queues wait for another owner. */
  queueLeaseTtlMs: number;
  /**
   * `PRESENCE_TTL_MS`, default 12000: how long a gateway may go without a presence heartbeat before
   * the others remove its users' presence (heartbeats and sweeps run every quarter of it).
   */
  presenceTtlMs: number;
  /**
   * `LEGACY_MEMBERSHIP_TTL_MS`, default 10000: how long a gateway may go without a legacy-channel
   * membership heartbeat before the others take over its share of the orgs (heartbeats run every
   * quarter of it).
   */
  legacyMembershipTtlMs: number;
  /**
   * `LEGACY_MAX_IN_FLIGHT`, default 2000: legacy-channel messages a gateway has handed on and not yet
   * settled at most; at the bound it pauses reading the legacy subscription until half have settled
   * (Redis holds what is published meanwhile).
   */
  legacyMaxInFlight: number;
  /**
   * `DLQ_MAX_STREAMS_PER_SOURCE`, default 1000: dead-letter streams one producer path may write
   * within their lifetime; its entries for further streams go to its overflow stream.
   */
  dlqMaxStreamsPerSource: number;
  /** `"*"` or the allowed origins. */
  corsOrigins: "*" | string[];
  /** `HUB_NAMESPACES`: namespaces added to the built-in ones. */
  namespaces: NamespaceSpec[];
  /** The backend check for topics of `authorize: "grant"` namespaces; undefined without `AUTHZ_URL`. */
  authz: AuthzSettings | undefined;
  /**
   * `GRANT_TOKEN_ORG` (`required` | `optional`): whether a subscription token must name the user's
   * org (`org_id`). Default `required` with `NODE_ENV=production`, `optional` otherwise (the
   * contract's claims have no org): a token without it is only safe where user ids are unique
   * across orgs.
   */
  grantTokenOrg: "required" | "optional";
  /** Client publications (`publish`): rates and the client-event streams. */
  clientPublish: ClientPublishSettings;
  /** Calls and huddles (docs/protocol.md "Calls", "Huddles"). */
  rtc: RtcSettings;
  /** The push hook for offline users; undefined without `PUSH_WEBHOOK_URL`. */
  push: PushSettings | undefined;
  limits: LimitSettings;
  /** `SHUTDOWN_TIMEOUT_MS`, default 10000: how long a drain may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  /**
   * `WRITE_DELAY_MS`, default 0: how long a topic's broadcasts wait for more before they are written;
   * 0 writes them when the event-loop turn ends. Clients that negotiated it (the SDK does) get a
   * topic's broadcasts of that window as one frame.
   */
  writeDelayMs: number;
  /**
   * `CONSOLE_ENABLED` (`true` | `false`): whether the gateway serves the web console at `/console`.
   * Default `true` outside production, `false` with `NODE_ENV=production`.
   */
  consoleEnabled: boolean;
  /** `ADMIN_UI` (`off` | `basic`, default `off`): the admin UI's settings, undefined while it is off. */
  adminUi: AdminUiSettings | undefined;
  /** `LOG_LEVEL`, default `info`. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

/** Calls and huddles. */
export interface RtcSettings {
  /** `CALL_RING_TIMEOUT_MS`, default 60000: how long a call rings before it is missed. */
  ringTimeoutMs: number;
  /** `CALL_MAX_DURATION_MS`, default 14400000 (4 h): an answered call ends (`max_duration`) after this. */
  maxCallDurationMs: number;
  /** `HUDDLE_GRACE_MS`, default 10000: how long a participant whose last connection closed stays in a huddle. */
  huddleGraceMs: number;
  /** `HUDDLE_MAX_PARTICIPANTS`, default 50: a huddle's default and ceiling of participants. */
  huddleMaxParticipants: number;
  /**
   * `ENTITY_SWEEP_MS`, default 1000: how often every gateway looks for due ring timeouts and grace
   * periods. The gateway that set a deadline fires it on time; this is the most one fires late when
   * that gateway died.
   */
  sweepMs: number;
}

/**
 * Reads the whole configuration from the environment; throws `ConfigError` naming the first bad
 * variable. Nothing else in the project reads `process.env` for settings.
 *
 * @example
 * const config = loadConfig(process.env, "gateway");
 */
export function loadConfig(env: Env, role: ProcessRole): HubConfig {
  const nodeEnv = readNodeEnv(env);
  const production = nodeEnv === "production";

  const redis = readRedisSettings(env);
  const explicitEngine = oneOf(env, "HUB_ENGINE", ["redis", "memory"] as const);
  const engine = explicitEngine ?? (redis ? "redis" : "memory");
  if (engine === "redis" && !redis) {
    throw new ConfigError("REDIS_URL", "is required when HUB_ENGINE=redis (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS)");
  }
  if (engine === "memory" && production && !explicitEngine) {
    throw new ConfigError("REDIS_URL", "is required with NODE_ENV=production (or set HUB_ENGINE=memory to run a single node on purpose)");
  }

  return {
    nodeEnv,
    nodeId: nodeId(env),
    port: int(env, "PORT", { default: 4000, min: 0, max: 65535 }),
    host: str(env, "HOST") ?? "0.0.0.0",
    metricsPort: int(env, "METRICS_PORT", { default: 9464, min: 0, max: 65535 }),
    healthPort: healthPort(env),
    engine,
    engineExplicit: explicitEngine !== undefined,
    redis,
    keyPrefix: keyPrefix(env),
    auth: auth(env, role, production),
    scraperApiKey: secret(env, "SCRAPER_API_KEY", production),
    legacyChannelPattern: legacyPattern(env),
    backendApiUrl: url(env, "BACKEND_API_URL", ["http:", "https:"]) ?? url(env, "RAILS_API_URL", ["http:", "https:"]),
    checkInTimeoutMs: int(env, "CHECK_IN_TIMEOUT_MS", { default: 60_000, min: 1_000, max: 86_400_000 }),
    rtc: {
      ringTimeoutMs: int(env, "CALL_RING_TIMEOUT_MS", { default: 60_000, min: 1_000, max: 600_000 }),
      maxCallDurationMs: int(env, "CALL_MAX_DURATION_MS", { default: 14_400_000, min: 60_000, max: 604_800_000 }),
      huddleGraceMs: int(env, "HUDDLE_GRACE_MS", { default: 10_000, min: 0, max: 600_000 }),
      huddleMaxParticipants: int(env, "HUDDLE_MAX_PARTICIPANTS", { default: 50, min: 2, max: 10_000 }),
      sweepMs: int(env, "ENTITY_SWEEP_MS", { default: 1_000, min: 10, max: 10_000 }),
    },
    queueLeaseTtlMs: int(env, "QUEUE_LEASE_TTL_MS", { default: 5_000, min: 500, max: 10_000 }),
    // At most 20 s: a dead gateway's users leave presence within 1.25 TTL, so under 30 s.
    presenceTtlMs: int(env, "PRESENCE_TTL_MS", { default: 12_000, min: 1_000, max: 20_000 }),
    legacyMembershipTtlMs: int(env, "LEGACY_MEMBERSHIP_TTL_MS", { default: 10_000, min: 1_000, max: 60_000 }),
    legacyMaxInFlight: int(env, "LEGACY_MAX_IN_FLIGHT", { default: 2_000, min: 1, max: 100_000 }),
    dlqMaxStreamsPerSource: int(env, "DLQ_MAX_STREAMS_PER_SOURCE", { default: 1_000, min: 1, max: 100_000 }),
    // Only the gateway serves browsers.
    corsOrigins: corsOrigins(env, production && role === "gateway"),
    namespaces: namespaces(env),
    authz: authz(env),
    grantTokenOrg: oneOf(env, "GRANT_TOKEN_ORG", ["required", "optional"] as const) ?? (production ? "required" : "optional"),
    clientPublish: {
      ratePerSecond: int(env, "CLIENT_PUBLISH_RATE", { default: 20, min: 1, max: 100_000 }),
      burst: int(env, "CLIENT_PUBLISH_BURST", { default: 40, min: 1, max: 1_000_000 }),
      streamLength: int(env, "CLIENT_EVENT_STREAM_LENGTH", { default: 100_000, min: 100, max: 100_000_000 }),
    },
    push: push(env),
    limits: {
      maxSubscriptionsPerSocket: int(env, "MAX_SUBSCRIPTIONS_PER_SOCKET", { default: 200, min: 1, max: 100_000 }),
      subscribeRatePerSecond: int(env, "SUBSCRIBE_RATE_PER_SECOND", { default: 50, min: 1, max: 100_000 }),
      maxMessageBytes: int(env, "MAX_MESSAGE_BYTES", { default: 65_536, min: 1_024, max: 16_777_216 }),
      requestRatePerSecond: int(env, "REQUEST_RATE_PER_SECOND", { default: 100, min: 1, max: 100_000 }),
      clientBufferBytes: int(env, "CLIENT_BUFFER_BYTES", { default: 1_048_576, min: 65_536, max: 268_435_456 }),
      maxConnectionsPerUser: int(env, "MAX_CONNECTIONS_PER_USER", { default: 20, min: 1, max: 100_000 }),
      maxConnectionsPerIp: int(env, "MAX_CONNECTIONS_PER_IP", { default: 500, min: 1, max: 1_000_000 }),
      handshakesPerIpPerSecond: int(env, "HANDSHAKES_PER_IP_PER_SECOND", { default: 50, min: 1, max: 100_000 }),
      maxPendingSessions: int(env, "MAX_PENDING_SESSIONS", { default: 1_000, min: 1, max: 1_000_000 }),
      httpPublishRatePerSecond: int(env, "HTTP_PUBLISH_RATE_PER_SECOND", { default: 200, min: 1, max: 100_000 }),
      trustProxy: (oneOf(env, "TRUST_PROXY", ["true", "false"] as const) ?? "false") === "true",
    },
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", { default: 10_000, min: 0, max: 600_000 }),
    writeDelayMs: int(env, "WRITE_DELAY_MS", { default: 0, min: 0, max: 1_000 }),
    // The console holds no secret (it signs in with a token the user already has), but a production
    // hub serves it only when asked to.
    consoleEnabled: (oneOf(env, "CONSOLE_ENABLED", ["true", "false"] as const) ?? (production ? "false" : "true")) === "true",
    adminUi: adminUi(env, production),
    logLevel: oneOf(env, "LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const) ?? "info",
  };
}

/** `NODE_ENV` (trimmed), default `development`; throws `ConfigError` on another value. */
export function readNodeEnv(env: Env): NodeEnv {
  return oneOf(env, "NODE_ENV", ["development", "production", "test"] as const) ?? "development";
}

function auth(env: Env, role: ProcessRole, production: boolean): AuthSettings {
  const jwtSecret = secret(env, "JWT_SECRET", production);
  const jwksUrl = url(env, "JWT_JWKS_URL", ["http:", "https:"]);
  const internalSecret = secret(env, "INTERNAL_JWT_SECRET", production);
  if (!internalSecret) throw new ConfigError("INTERNAL_JWT_SECRET", "is required (HS256 secret for service tokens)");
  if (role === "gateway" && !jwtSecret && !jwksUrl) {
    throw new ConfigError("JWT_SECRET", "is required (HS256 secret for user tokens) unless JWT_JWKS_URL is set");
  }
  if (jwtSecret && jwtSecret === internalSecret) {
    // A user token would verify as a service token and gain access to every topic.
    throw new ConfigError("INTERNAL_JWT_SECRET", "must differ from JWT_SECRET");
  }
  return {
    jwtSecret,
    jwksUrl,
    issuer: str(env, "JWT_ISSUER"),
    audience: str(env, "JWT_AUDIENCE"),
    internalSecret,
    maxTtlS: int(env, "JWT_MAX_TTL_S", { default: 604_800, min: 60, max: 31_536_000 }),
    clockSkewS: int(env, "JWT_CLOCK_SKEW_S", { default: 60, min: 0, max: 600 }),
  };
}

/** Secrets must be long enough to resist guessing once the hub faces the internet. */
function secret(env: Env, name: string, production: boolean): string | undefined {
  const value = str(env, name);
  if (value !== undefined && production && value.length < 32) {
    throw new ConfigError(name, "must be at least 32 characters with NODE_ENV=production");
  }
  return value;
}

/** `$2a$`, `$2b$` or `$2y$`, a two-digit cost, then 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/**
 * The admin UI is off unless asked for, and never without credentials: admin-ui's `auth: false`
 * cannot be configured. Values are never echoed, the hash included.
 */
function adminUi(env: Env, production: boolean): AdminUiSettings | undefined {
  if ((oneOf(env, "ADMIN_UI", ["off", "basic"] as const) ?? "off") === "off") return undefined;
  const username = str(env, "ADMIN_UI_USERNAME");
  if (username === undefined) throw new ConfigError("ADMIN_UI_USERNAME", "is required when ADMIN_UI=basic");
  const passwordHash = str(env, "ADMIN_UI_PASSWORD_HASH");
  if (passwordHash === undefined) throw new ConfigError("ADMIN_UI_PASSWORD_HASH", "is required when ADMIN_UI=basic (a bcrypt hash)");
  const cost = BCRYPT_HASH.exec(passwordHash)?.[1];
  if (cost === undefined || Number(cost) < 4 || Number(cost) > 31) {
    throw new ConfigError("ADMIN_UI_PASSWORD_HASH", "must be a bcrypt hash such as $2b$12$... (the hash, not the password)");
  }
  if (production && Number(cost) < 10) {
    throw new ConfigError("ADMIN_UI_PASSWORD_HASH", "must have a bcrypt cost of at least 10 with NODE_ENV=production");
  }
  return { username, passwordHash };
}

/** A channel prefix followed by `*`: what the `*` matches is the org id. */
function legacyPattern(env: Env): string {
  const value = str(env, "LEGACY_CHANNEL_PATTERN") ?? "prostaff:events:*";
  if (!/^[^*?[\]\\\s]+\*$/.test(value)) {
    throw new ConfigError(
      "LEGACY_CHANNEL_PATTERN",
      `must be a channel prefix ending in * (like prostaff:events:*), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * `HUB_NODE_ID`: names Redis keys of this process (presence), so it may not hold `{` or `}` (a hash
 * tag would split them over Redis Cluster slots), whitespace or control characters.
 */
function nodeId(env: Env): string {
  const id = str(env, "HUB_NODE_ID") ?? `${hostname()}-${process.pid}`;
  if (id.length > 128 || /[{}\s\p{Cc}]/u.test(id)) {
    throw new ConfigError(
      "HUB_NODE_ID",
      `must be 1 to 128 characters without braces, spaces or control characters, got ${JSON.stringify(id)}`,
    );
  }
  return id;
}

function healthPort(env: Env): number | undefined {
  if (str(env, "HEALTH_PORT") === undefined) return undefined;
  const port = int(env, "HEALTH_PORT", { default: 0, min: 0, max: 65535 });
  if (port !== 0 && port === int(env, "PORT", { default: 4000, min: 0, max: 65535 })) {
    throw new ConfigError("HEALTH_PORT", `must differ from PORT (${port}): it is a second listener`);
  }
  return port;
}

function keyPrefix(env: Env): string {
  const value = str(env, "HUB_KEY_PREFIX") ?? "hub";
  if (!KEY_PREFIX.test(value)) throw new ConfigError("HUB_KEY_PREFIX", "must match [A-Za-z0-9_.-]{1,64}");
  return value;
}

function corsOrigins(env: Env, required: boolean): "*" | string[] {
  const raw = str(env, "CORS_ORIGINS");
  if (raw === undefined) {
    if (required) throw new ConfigError("CORS_ORIGINS", "is required with NODE_ENV=production (comma-separated origins)");
    return "*";
  }
  if (raw === "*") {
    if (required) throw new ConfigError("CORS_ORIGINS", "must list origins with NODE_ENV=production, not *");
    return "*";
  }
  const origins = raw
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {}
    if (!parsed || parsed.origin !== origin) {
      throw new ConfigError("CORS_ORIGINS", `has ${JSON.stringify(origin)}, which is not an origin like https://app.example.com`);
    }
  }
  return origins;
}

function authz(env: Env): AuthzSettings | undefined {
  const target = url(env, "AUTHZ_URL", ["http:", "https:"]);
  // Below REQUEST_TIMEOUT_MS (4 s): a request answered `unavailable` must not go on to succeed.
  const timeoutMs = int(env, "AUTHZ_TIMEOUT_MS", { default: 2_000, min: 10, max: 3_500 });
  const cacheMs = int(env, "AUTHZ_CACHE_MS", { default: 30_000, min: 0, max: 86_400_000 });
  return target === undefined ? undefined : { url: target, timeoutMs, cacheMs };
}

function push(env: Env): PushSettings | undefined {
  const target = url(env, "PUSH_WEBHOOK_URL", ["http:", "https:"]);
  const settings = {
    timeoutMs: int(env, "PUSH_TIMEOUT_MS", { default: 5_000, min: 100, max: 60_000 }),
    maxAgeMs: int(env, "PUSH_MAX_AGE_MS", { default: 86_400_000, min: 1_000, max: 604_800_000 }),
    concurrency: int(env, "PUSH_CONCURRENCY", { default: 32, min: 1, max: 1_000 }),
    retryBaseMs: int(env, "PUSH_RETRY_BASE_MS", { default: 1_000, min: 10, max: 60_000 }),
  };
  return target === undefined ? undefined : { url: target, ...settings };
}

function namespaces(env: Env): NamespaceSpec[] {
  const raw = str(env, "HUB_NAMESPACES");
  if (raw === undefined) return [];
  try {
    const specs = parseNamespaceSpecs(raw);
    // Resolving them checks what the schema cannot: durable client events need a history, a
    // client event's JSON Schema must compile.
    new TopicRegistry(specs);
    return specs;
  } catch (error) {
    throw new ConfigError("HUB_NAMESPACES", (error as Error).message);
  }
}
