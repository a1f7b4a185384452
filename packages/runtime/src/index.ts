export { ConfigError } from "./config-error.js";
export { connectRedis, isCluster, REDIS_RETRY_MAX_MS, REDIS_RETRY_STEP_MS } from "./connect-redis.js";
export type { Env } from "./env-readers.js";
export { redactUrl } from "./env-readers.js";
export type {
  AdminUiSettings,
  AuthSettings,
  AuthzSettings,
  ClientPublishSettings,
  EngineKind,
  HubConfig,
  LimitSettings,
  NodeEnv,
  ProcessRole,
  PushSettings,
  RtcSettings,
} from "./hub-config.js";
export { loadConfig, readNodeEnv } from "./hub-config.js";
export { fillDevSecrets, MAX_LOCAL_NODES, readHubNodes, readMetricsPortIfSet } from "./launch-settings.js";
export { createLogger } from "./logger.js";
export { guardProcess } from "./process-faults.js";
export { exitOnSignal, loadConfigOrExit } from "./process-lifecycle.js";
export type { RedisClientEvents } from "./redis-credentials.js";
export { stopOnRefusedPassword } from "./redis-credentials.js";
export {
  describeRedis,
  type HostPort,
  type PubSubMode,
  type RedisSettings,
  type RedisTarget,
  readRedisSettings,
} from "./redis-settings.js";
