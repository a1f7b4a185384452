import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublisher, type DeadLetterEntry, type PublishContext, type Publisher } from "@hub/emitter";
import { TopicRegistry } from "@hub/events";
import { startQueueWorker, startReconciler } from "@hub/inhouse";
import type { HubConfig } from "@hub/runtime";
import type { Logger } from "pino";
import { Server } from "socket.io";
import { adminUi } from "./admin/admin-ui.js";
import { refreshAuth } from "./auth/auth-refresh.js";
import { authenticateHandshake } from "./auth/handshake.js";
import { armTokenExpiry, clearTokenExpiry } from "./auth/token-expiry.js";
import { createTokenVerifier } from "./auth/token-verifier.js";
import { clientWaitMs, drainClients } from "./drain.js";
import type { Engine } from "./engine/engine.js";
import { consoleRoutes } from "./http/console-routes.js";
import { deadLetterRoutes } from "./http/dead-letter-routes.js";
import { healthRoutes, type Lifecycle } from "./http/health-routes.js";
import { createHttpApp } from "./http/http-app.js";
import { inhouseRoutes } from "./http/inhouse-routes.js";
import { metricsRoutes } from "./http/metrics-routes.js";
import { publishRoutes } from "./http/publish-routes.js";
import { webhookRoutes } from "./http/webhook-routes.js";
import { IngestStats } from "./ingest/ingest-stats.js";
import { channelOrg, startLegacyChannel } from "./ingest/legacy-channel.js";
import { createMetrics } from "./metrics/metrics.js";
import { trackTopicMetrics } from "./metrics/topic-metrics.js";
import { acknowledge } from "./protocol/acknowledge.js";
import type { HubServer, HubSocket } from "./protocol/hub-socket.js";
import { INHOUSE_REQUESTS, inhouseRequest } from "./protocol/inhouse-requests.js";
import { trackPresence } from "./protocol/presence-requests.js";
import { type RequestHandler, serveRequests } from "./protocol/respond.js";
import { type SubscriptionContext, subscribe, unsubscribe } from "./protocol/subscriptions.js";
import { TokenBucket } from "./protocol/token-bucket.js";
import { LiveHolds } from "./recovery/live-holds.js";
import { VERSION } from "./version.js";

export interface GatewayOptions {
  config: HubConfig;
  engine: Engine;
  logger: Logger;
}

/** One gateway node: Socket.IO + HTTP on one port, joined to its peers by the engine. */
export interface Gateway {
  readonly io: HubServer;
  readonly http: HttpServer;
  /** The publish pipeline of this node (HTTP ingress uses it). */
  readonly publisher: Publisher;
  /** Starts listening; resolves with the bound address (PORT=0 picks a free port). */
  listen(): Promise<AddressInfo>;
  /** Resolves once the engine is joined to the cluster; `/health/ready` turns 200 then. */
  ready(): Promise<void>;
  /** Stops accepting, disconnects clients, closes the engine. */
  close(): Promise<void>;
}

export function createGateway({ config, engine, logger }: GatewayOptions): Gateway {
  let lifecycle: Lifecycle = "starting";
  const registry = new TopicRegistry(config.namespaces);
  const verifier = createTokenVerifier(config.auth);

  const io: HubServer = new Server({
    cors: { origin: config.corsOrigins, credentials: config.corsOrigins !== "*" },
    maxHttpBufferSize: config.limits.maxMessageBytes,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    // A draining node takes no new clients; they reconnect to another one.
    allowRequest: (_req, callback) => callback(lifecycle === "draining" ? "draining" : null, lifecycle !== "draining"),
  });
  engine.attach(io);
  const metrics = createMetrics({ connections: () => io.of("/").sockets.size, redisConnections: () => engine.redisConnections() });
  const topicMetrics = trackTopicMetrics(io, registry, metrics);
  engine.observeBroadcasts(topicMetrics.observer);
  const stats = new IngestStats(logger, metrics);
  const publisher = createPublisher({
    sink: engine.eventSink(io as unknown as Server),
    deadLetters: engine.deadLetters,
    topics: registry,
    onDeadLetterError: (error, { source, code, orgId, type }) => {
      metrics.dropped.inc({ reason: "dead_letter_failed" });
      logger.error({ err: error, source, code, org_id: orgId, event_type: type }, "could not write to the dead-letter queue");
    },
    onPublished: (source, type, duplicate) => stats.published(source, type, duplicate),
    onDeadLettered: (source, code, overflow) => {
      metrics.deadLettered.inc({ source, code });
      if (overflow) metrics.deadLetterOverflow.inc({ source });
    },
  });
  startLegacyChannel({
    engine,
    publisher,
    commands: engine.commands,
    pattern: config.legacyChannelPattern,
    stats,
  });
  // With the memory engine this process is the whole hub: it runs the inhouse queues too.
  const queueWorker = engine.embeddedQueues
    ? startQueueWorker({
        store: engine.embeddedQueues,
        logger,
        checkInTimeoutMs: config.checkInTimeoutMs,
        leaseTtlMs: config.queueLeaseTtlMs,
        publish: (event) => publisher.publish(event, { source: "emitter" }),
      })
    : undefined;
  // ... and reconciles them with the backend on boot (BACKEND_API_URL), as a queue-worker does on Redis.
  const reconciler = engine.embeddedQueues
    ? startReconciler({
        backendApiUrl: config.backendApiUrl,
        internalSecret: config.auth.internalSecret,
        checkInTimeoutMs: config.checkInTimeoutMs,
        store: engine.embeddedQueues,
        logger,
      })
    : undefined;
  const legacyContext = (entry: DeadLetterEntry): PublishContext =>
    entry.source === "legacy" && entry.channel
      ? { source: "legacy", channel: entry.channel, expectOrgId: channelOrg(config.legacyChannelPattern, entry.channel) }
      : { source: entry.source };

  const app = createHttpApp({
    logger,
    draining: () => lifecycle === "draining",
    routers: [
      healthRoutes({ engine, version: VERSION, nodeId: config.nodeId, lifecycle: () => lifecycle }),
      metricsRoutes(metrics),
      publishRoutes({ engine, publisher, verifier, stats }),
      ...(config.scraperApiKey ? [webhookRoutes({ engine, publisher, apiKey: config.scraperApiKey, stats })] : []),
      deadLetterRoutes({ deadLetters: engine.deadLetters, publisher, verifier, contextOf: legacyContext }),
      inhouseRoutes({ engine, commands: engine.commands, verifier }),
      ...(config.consoleEnabled ? [consoleRoutes({ logger })] : []),
      ...adminUi({ io, settings: config.adminUi, nodeId: config.nodeId, logger }),
    ],
  });
  const presence = engine.createPresence(io as unknown as Server, config.nodeId);
  const presenceTracking = trackPresence({ presence, registry, logger });
  const holds = new LiveHolds();
  engine.tapLive(holds);
  // Broadcasts published while this node's Redis subscription was down never reached its sockets:
  // close their connections, so clients reconnect and recover from history (subscribe with since).
  engine.onLiveGap(() => {
    metrics.liveGaps.inc();
    const sockets = [...io.of("/").sockets.values()];
    logger.warn({ connections: sockets.length }, "live stream was interrupted: closing connections so clients recover what they missed");
    for (const socket of sockets) socket.conn.close();
  });
  const subscriptions: SubscriptionContext = {
    registry,
    limits: config.limits,
    history: engine.history,
    holds,
    liveBarrier: () => engine.liveBarrier(),
    liveGeneration: () => engine.liveGeneration(),
    available: () => engine.redisState() !== "disconnected",
    onJoined: presenceTracking.joined,
    onLeft: presenceTracking.left,
    onReplayed: topicMetrics.replayed,
  };

  const http = createServer(app);
  io.attach(http);

  io.use(authenticateHandshake(verifier, logger));
  // One table for every socket's requests (closures per socket and event cost memory per connection).
  const requests = new Map<string, RequestHandler>([
    ["subscribe", (socket, req) => subscribe(socket, req, subscriptions)],
    ["unsubscribe", (socket, req) => unsubscribe(socket, req, subscriptions)],
    ["ack", (socket, req) => acknowledge(socket, req, registry, engine.history, subscriptions.available)],
    ["auth.refresh", (socket, req) => refreshAuth(socket, req, verifier)],
    ["presence", (socket, req) => presenceTracking.request(socket, req)],
    ...(Object.keys(INHOUSE_REQUESTS) as Array<keyof typeof INHOUSE_REQUESTS>).map((event): [string, RequestHandler] => [
      event,
      (socket, req) => inhouseRequest(socket, event, req, engine),
    ]),
  ]);
  io.on("connection", (socket: HubSocket) => {
    socket.data.subscribeBucket = new TokenBucket(config.limits.subscribeRatePerSecond);
    armTokenExpiry(socket);
    presenceTracking.watch(socket);
    socket.on("disconnect", () => clearTokenExpiry(socket));
    serveRequests(socket, requests, logger);
  });

  return {
    io,
    http,
    publisher,
    listen: () =>
      new Promise((resolve, reject) => {
        http.once("error", reject);
        http.listen(config.port, config.host, () => {
          http.off("error", reject);
          resolve(http.address() as AddressInfo);
        });
      }),
    async ready() {
      await engine.ready();
      if (lifecycle === "starting") lifecycle = "serving";
    },
    async close() {
      lifecycle = "draining";
      reconciler?.stop();
      await drainClients(io, http, logger, clientWaitMs(config.shutdownTimeoutMs));
      await queueWorker?.close();
      await presence.close();
      await engine.close();
    },
  };
}
