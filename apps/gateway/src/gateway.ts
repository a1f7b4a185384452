import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { callMachine, createEntityRuntime, type EntityMetrics, huddleMachine, sinkDelivery, startEntitySweeper } from "@hub/entities";
import { DEFAULT_PRESENCE_EVENTS, type ParsedTopic, ProtocolError, TopicRegistry, topicOfRoom } from "@hub/events";
import { startQueueWorker, startReconciler } from "@hub/inhouse";
import type { HubConfig } from "@hub/runtime";
import { createPublisher, type DeadLetterEntry, type PublishContext, type Publisher } from "@hub/store";
import type { Logger } from "pino";
import { Server } from "socket.io";
import { adminUi } from "./admin/admin-ui.js";
import { refreshAuth } from "./auth/auth-refresh.js";
import { authenticateHandshake } from "./auth/handshake.js";
import { expireSocket, TokenExpiry } from "./auth/token-expiry.js";
import { createTokenVerifier } from "./auth/token-verifier.js";
import { createTopicGrants } from "./auth/topic-grants.js";
import { clientWaitMs, drainClients } from "./drain.js";
import type { Engine } from "./engine/engine.js";
import { coalescingAdapter } from "./engine/write-coalescing.js";
import { consoleRoutes } from "./http/console-routes.js";
import { deadLetterRoutes } from "./http/dead-letter-routes.js";
import { gatewayOpenApi } from "./http/gateway-routes.js";
import { healthRoutes, type Lifecycle } from "./http/health-routes.js";
import { createHttpApp } from "./http/http-app.js";
import { inhouseRoutes } from "./http/inhouse-routes.js";
import { metricsRoutes } from "./http/metrics-routes.js";
import { openApiRoutes } from "./http/openapi-routes.js";
import { presenceRoutes } from "./http/presence-routes.js";
import { publishRoutes } from "./http/publish-routes.js";
import { type RegisteredRoute, registeredRoutes } from "./http/registered-routes.js";
import { rtcRoutes } from "./http/rtc-routes.js";
import { serviceRateLimit } from "./http/service-rate.js";
import { userRoutes } from "./http/user-routes.js";
import { webhookRoutes } from "./http/webhook-routes.js";
import { IngestStats } from "./ingest/ingest-stats.js";
import { channelOrg, startLegacyChannel } from "./ingest/legacy-channel.js";
import { startLegacyPartition } from "./ingest/legacy-partition.js";
import { createMetrics } from "./metrics/metrics.js";
import { trackTopicMetrics } from "./metrics/topic-metrics.js";
import { type Admission, connectionAdmission } from "./protection/admission.js";
import { guardOutbound } from "./protection/outbound-guard.js";
import { sendResync } from "./protection/resync.js";
import { issuedBefore } from "./protection/user-sessions.js";
import { acknowledge } from "./protocol/acknowledge.js";
import { type ClientPublishContext, joinUserRoom, publish } from "./protocol/client-publish.js";
import type { HubServer, HubSocket } from "./protocol/hub-socket.js";
import { inhouseRequest } from "./protocol/inhouse-requests.js";
import { trackPresence } from "./protocol/presence-requests.js";
import { type RequestHandlers, type RequestTable, serveRequests } from "./protocol/respond.js";
import { shedHandshake } from "./protocol/shed-handshake.js";
import { type SubscriptionContext, subscribe, unsubscribe } from "./protocol/subscriptions.js";
import { TokenBucket } from "./protocol/token-bucket.js";
import { messagePushes } from "./push/message-pushes.js";
import { notificationPushes } from "./push/notification-pushes.js";
import { startPush } from "./push/start-push.js";
import { LiveHolds } from "./recovery/live-holds.js";
import { callAction, endCallsOf, initiateCall, relaySignal, toggleCallMedia } from "./rtc/call-requests.js";
import {
  createHuddle,
  huddleMessage,
  inviteToHuddle,
  isParticipant,
  joinHuddle,
  leaveHuddle,
  leaveHuddlesOf,
  toggleHuddle,
} from "./rtc/huddle-requests.js";
import type { RtcContext } from "./rtc/rtc-context.js";
import { rtcSweepHandler } from "./rtc/swept-users.js";
import { VERSION } from "./version.js";

/**
 * Connections the kernel may hold for this node before it accepts them (capped by the system's
 * `net.core.somaxconn`). Node's default, 511, overflows when thousands of clients of a node that
 * died reconnect at once: the kernel then drops their SYNs, each retried only 1, 3, 7 s later, and
 * the balancer's health check, queued behind them, times out and takes a healthy node out of the pool.
 */
const LISTEN_BACKLOG = 4_096;
/** Requests charged to the user's client publication rate (counted as `client_publish_rate`). */
const CHARGED_AS_PUBLICATIONS = new Set(["publish", "call:initiate", "huddle:invite"]);

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
  /** Starts listening (and on HEALTH_PORT when set); resolves with the bound address (PORT=0 picks a free port). */
  listen(): Promise<AddressInfo>;
  /** Where the health listener (HEALTH_PORT) is bound, once listening; undefined without one. */
  healthAddress(): AddressInfo | undefined;
  /** The HTTP routes this node registered on PORT (`/openapi.json` documents them). */
  routes(): RegisteredRoute[];
  /** Resolves once the engine is joined to the cluster; `/health/ready` turns 200 then. */
  ready(): Promise<void>;
  /** Stops accepting, disconnects clients, closes the engine. */
  close(): Promise<void>;
}

export function createGateway({ config, engine, logger }: GatewayOptions): Gateway {
  let lifecycle: Lifecycle = "starting";
  const registry = new TopicRegistry(config.namespaces);
  const verifier = createTokenVerifier(config.auth);

  // Read by allowRequest, which the server needs before the admission exists.
  let admission: Admission | undefined;
  const io: HubServer = new Server({
    cors: { origin: config.corsOrigins, credentials: config.corsOrigins !== "*" },
    maxHttpBufferSize: config.limits.maxMessageBytes,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    // A session that has not finished the Socket.IO handshake by then is closed (MAX_PENDING_SESSIONS counts them).
    connectTimeout: 10_000,
    allowRequest: (_req, callback) => {
      // A draining node takes no new clients; they reconnect to another one.
      if (lifecycle === "draining") return callback("draining", false);
      if (admission?.pendingSessionsFull()) {
        metrics.limitRefusals.inc({ limit: "pending_sessions" });
        return callback("too many pending sessions", false);
      }
      callback(null, true);
    },
  });
  const { broker, stores, health } = engine;
  const metrics = createMetrics({
    connections: () => io.of("/").sockets.size,
    redisConnections: () => health.redisConnections(),
    redisShards: () => health.shards(),
  });
  const onBatches = (frames: number, events: number) => {
    metrics.batchFrames.inc(frames);
    metrics.batchedEvents.inc(events);
  };
  const onError = (error: unknown, room: string) => logger.error({ err: error, room }, "could not write a topic's broadcasts");
  // The outbound guard (below) watches a connection once a broadcast had to queue behind its earlier writes.
  const onBacklog = (socket: unknown) => outbound.watch(socket as HubSocket);
  broker.attach(io, (base) => coalescingAdapter(base, { delayMs: config.writeDelayMs, onBatches, onError, onBacklog }));
  const topicMetrics = trackTopicMetrics(io, registry, metrics);
  broker.observeBroadcasts(topicMetrics.observer);
  const stats = new IngestStats(logger, metrics);
  const publisherSink = broker.eventSink(io);
  // Pushes for offline users (PUSH_WEBHOOK_URL): `push.offer` never waits and never throws.
  const push = startPush({
    settings: config.push,
    queue: stores.push.queue,
    sessions: stores.userSessions,
    internalSecret: config.auth.internalSecret,
    logger,
    onOutcome: (kind, outcome) => metrics.pushes.inc({ kind, outcome }),
  });
  const publisher = createPublisher({
    sink: notificationPushes(publisherSink, push, registry),
    deadLetters: stores.deadLetters,
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
  // The legacy channel's orgs are partitioned over the gateways: each parses only its own share.
  const legacyPartition =
    stores.ingestNodes &&
    startLegacyPartition({
      nodes: stores.ingestNodes,
      nodeId: config.nodeId,
      ttlMs: config.legacyMembershipTtlMs,
      logger,
      onMembers: (members) => metrics.legacyMembers.set(members?.length ?? 0),
    });
  startLegacyChannel({
    channels: engine.channels,
    publisher,
    commands: stores.commands,
    pattern: config.legacyChannelPattern,
    owns: legacyPartition?.owns ?? (() => true),
    stats,
    maxInFlight: config.legacyMaxInFlight,
  });
  // With the memory engine this process is the whole hub: it runs the inhouse queues too.
  const queueWorker = stores.localQueues
    ? startQueueWorker({
        store: stores.localQueues,
        logger,
        checkInTimeoutMs: config.checkInTimeoutMs,
        leaseTtlMs: config.queueLeaseTtlMs,
        publish: (event) => publisher.publish(event, { source: "emitter" }),
      })
    : undefined;
  // ... and reconciles them with the backend on boot (BACKEND_API_URL), as a queue-worker does on Redis.
  const reconciler = stores.localQueues
    ? startReconciler({
        backendApiUrl: config.backendApiUrl,
        internalSecret: config.auth.internalSecret,
        checkInTimeoutMs: config.checkInTimeoutMs,
        store: stores.localQueues,
        logger,
      })
    : undefined;
  const legacyContext = (entry: DeadLetterEntry): PublishContext =>
    entry.source === "legacy" && entry.channel
      ? { source: "legacy", channel: entry.channel, expectOrgId: channelOrg(config.legacyChannelPattern, entry.channel) }
      : { source: entry.source };

  const publishRate = serviceRateLimit(config.limits.httpPublishRatePerSecond, () =>
    metrics.limitRefusals.inc({ limit: "http_publish_rate" }),
  );
  const draining = () => lifecycle === "draining";
  const presence = stores.presence(
    io,
    config.nodeId,
    (room) => registry.namespaceOf(topicOfRoom(room))?.presenceEvents ?? DEFAULT_PRESENCE_EVENTS,
    // A dead gateway's huddle participants and callers, told by the sweep that removed them.
    (room, userId, orgId) => sweptUsers(room, userId, orgId),
  );
  const operatorRoutes = [
    healthRoutes({ kind: engine.kind, health, version: VERSION, nodeId: config.nodeId, lifecycle: () => lifecycle }),
    metricsRoutes(metrics),
  ];
  // Health and metrics alone on their own port: the balancer's checks do not queue behind the
  // connections waiting on PORT, so a node busy with a reconnect storm still answers them.
  const healthServer =
    config.healthPort === undefined ? undefined : createServer(createHttpApp({ logger, draining, routers: operatorRoutes }));
  const presenceTracking = trackPresence({
    presence,
    registry,
    logger,
    onUpdate: (outcome) => metrics.presenceUpdates.inc({ outcome }),
  });
  const messages = messagePushes({ members: stores.push.members, presence, push, logger });
  const grants = createTopicGrants({
    verifier,
    authz: config.authz,
    internalSecret: config.auth.internalSecret,
    requireOrg: config.grantTokenOrg === "required",
    onCheck: (outcome) => metrics.authzChecks.inc({ outcome }),
  });
  // Calls and huddles: state machines on the entity runtime, their events delivered like any event.
  const entityMetrics: EntityMetrics = {
    command: (kind, outcome) => metrics.entityCommands.inc({ kind, outcome }),
    conflict: (kind) => metrics.entityCommands.inc({ kind, outcome: "conflict" }),
    deliveryFailed: (kind) => metrics.entityCommands.inc({ kind, outcome: "delivery_failed" }),
    deadlineFired: (kind, lateness) => metrics.entityDeadlineLateness.observe({ kind }, lateness / 1000),
  };
  const entityDelivery = sinkDelivery({
    registry,
    sink: publisherSink,
    onPush: ({ push: { kind, user_id }, org_id, event }, envelope) => push.offer({ kind, userId: user_id, orgId: org_id, envelope, event }),
  });
  const runtime = createEntityRuntime({ store: stores.entities, deliver: entityDelivery, logger, metrics: entityMetrics });
  const calls = callMachine({ ringTimeoutMs: config.rtc.ringTimeoutMs, maxDurationMs: config.rtc.maxCallDurationMs });
  const huddles = huddleMachine({ graceMs: config.rtc.huddleGraceMs });
  // The gateway that commits a deadline (a ring timeout, a grace period) fires it on time; every
  // gateway sweeps as the backstop. The first commit wins, so each fires once, and a gateway killed
  // at a deadline leaves it to the others' sweep.
  const sweeper = startEntitySweeper({ runtime, store: stores.entities, machines: [calls, huddles], logger, sweepMs: config.rtc.sweepMs });
  const holds = new LiveHolds();
  broker.tapLive(holds);
  // Broadcasts published while this node's Redis subscription was down never reached its sockets:
  // close their connections, so clients reconnect and recover from history (subscribe with since).
  broker.onLiveGap((rooms) => {
    metrics.liveGaps.inc();
    const sockets = rooms === undefined ? [...io.of("/").sockets.values()] : socketsIn(io, rooms);
    logger.warn(
      { connections: sockets.length, rooms: rooms?.length ?? "all" },
      "live stream was interrupted: closing connections so clients recover what they missed",
    );
    for (const socket of sockets) socket.conn.close();
  });
  const subscriptions: SubscriptionContext = {
    registry,
    grants,
    limits: config.limits,
    history: stores.history,
    holds,
    follow: (room) => broker.follow(room),
    liveBarrier: (room) => broker.liveBarrier(room),
    liveGeneration: (room) => broker.liveGeneration(room),
    available: health.available,
    replayBudgetBytes: config.limits.clientBufferBytes / 2,
    onJoined: (socket: HubSocket, topic: ParsedTopic, room: string) => {
      presenceTracking.joined(socket, topic, room);
      // The sender's sockets are left out of its ephemeral publications by this room.
      const principal = socket.data.principal;
      if (principal.kind === "user" && hasEphemeralEvents(topic)) joinUserRoom(socket, principal);
      if (principal.kind === "user") messages.joined(principal, topic, room);
    },
    onLeft: presenceTracking.left,
    onReplayed: topicMetrics.replayed,
    async members(user, topic) {
      if (!(await isParticipant(rtc, user, topic.id)))
        throw new ProtocolError("forbidden", `only participants subscribe to ${topic.topic}`);
    },
  };
  const rtc: RtcContext = {
    runtime,
    calls,
    huddles,
    lines: stores.callLines,
    sessions: stores.userSessions,
    grants,
    rate: stores.publishRate,
    deliver: entityDelivery,
    join: async (socket, topic) => void (await subscribe(socket, { topic }, subscriptions)),
    leave: async (socket, topic) => void (await unsubscribe(socket, { topic }, subscriptions)),
    available: health.available,
    nodeId: config.nodeId,
    maxParticipants: config.rtc.huddleMaxParticipants,
  };
  const sweptUsers = rtcSweepHandler(rtc, registry, logger);

  const routers = [
    ...operatorRoutes,
    openApiRoutes(gatewayOpenApi(VERSION)),
    publishRoutes({ health, publisher, verifier, stats, rateLimit: publishRate }),
    ...(config.scraperApiKey ? [webhookRoutes({ health, publisher, apiKey: config.scraperApiKey, stats })] : []),
    deadLetterRoutes({ deadLetters: stores.deadLetters, publisher, verifier, contextOf: legacyContext }),
    inhouseRoutes({ health, commands: stores.commands, verifier, rateLimit: publishRate }),
    userRoutes({ health, sessions: stores.userSessions, verifier }),
    presenceRoutes({ health, presence, verifier }),
    rtcRoutes({ health, verifier, rtc }),
    ...(config.consoleEnabled ? [consoleRoutes({ logger })] : []),
    ...adminUi({ io, settings: config.adminUi, nodeId: config.nodeId, logger }),
  ];
  const app = createHttpApp({ logger, draining, routers });
  const http = createServer(app);
  io.attach(http);

  admission = connectionAdmission({
    io,
    limits: config.limits,
    sessions: stores.userSessions,
    logger,
    refused: (limit) => metrics.limitRefusals.inc({ limit }),
  });
  io.use(admission.byAddress);
  io.use(authenticateHandshake(verifier, logger));
  io.use(admission.byUser);
  const outbound = guardOutbound({
    io,
    maxBytes: config.limits.clientBufferBytes,
    logger,
    onDisconnected: () => metrics.slowConsumerDisconnects.inc(),
    onLagging: () => metrics.slowConsumerResyncs.inc(),
    onDrained: (socket, rooms) => void sendResync(socket, rooms, { registry, history: stores.history, logger }),
  });
  // Revocations and forced disconnects, from this node's HTTP routes or any other's.
  stores.userSessions.onControl((message) => {
    for (const socket of io.of("/").sockets.values()) {
      const principal = socket.data.principal;
      if (principal.kind !== "user" || principal.orgId !== message.orgId || principal.userId !== message.userId) continue;
      if (message.kind === "revoke" && !issuedBefore(principal.issuedAt, message.before ?? Date.now())) continue;
      socket.data.closeReason = message.kind === "revoke" ? "revoked" : "disconnect";
      metrics.forcedDisconnects.inc({ reason: socket.data.closeReason });
      socket.disconnect(true);
    }
  });
  const publications: ClientPublishContext = {
    io,
    registry,
    grants,
    rate: stores.publishRate,
    sink: publisherSink,
    available: health.available,
    onDelivered: messages.published,
    onPublication: (namespace, kind, outcome) => metrics.clientPublications.inc({ namespace, kind, outcome }),
  };
  // One table for every socket's requests (closures per socket and event cost memory per connection).
  // Checked against ClientToServerEvents: each client event has its handler, typed by its schema and reply.
  const requests = {
    subscribe: (socket, req) => subscribe(socket, req, subscriptions),
    unsubscribe: (socket, req) => unsubscribe(socket, req, subscriptions),
    ack: (socket, req) => acknowledge(socket, req, registry, stores.history, subscriptions.available),
    "auth.refresh": (socket, req) => refreshAuth(socket, req, { verifier, sessions: stores.userSessions, expiry }),
    presence: (socket, req) => presenceTracking.request(socket, req),
    "presence.update": (socket, req) => presenceTracking.update(socket, req),
    "inhouse.join": (socket, req) => inhouseRequest(socket, "inhouse.join", req, stores.commands, health.available),
    "inhouse.leave": (socket, req) => inhouseRequest(socket, "inhouse.leave", req, stores.commands, health.available),
    "inhouse.check_in": (socket, req) => inhouseRequest(socket, "inhouse.check_in", req, stores.commands, health.available),
    publish: (socket, req) => publish(socket, req, publications),
    "call:initiate": (socket, req) => initiateCall(socket, req, rtc),
    "call:answer": (socket, req) => callAction(socket, "answer", req, rtc),
    "call:reject": (socket, req) => callAction(socket, "reject", req, rtc),
    "call:end": (socket, req) => callAction(socket, "end", req, rtc),
    "webrtc:offer": (socket, req) => relaySignal(socket, "webrtc:offer", req, rtc),
    "webrtc:answer": (socket, req) => relaySignal(socket, "webrtc:answer", req, rtc),
    "webrtc:ice-candidate": (socket, req) => relaySignal(socket, "webrtc:ice-candidate", req, rtc),
    "call:toggle-audio": (socket, req) => toggleCallMedia(socket, "audio", req, rtc),
    "call:toggle-video": (socket, req) => toggleCallMedia(socket, "video", req, rtc),
    "huddle:create": (socket, req) => createHuddle(socket, req, rtc),
    "huddle:join": (socket, req) => joinHuddle(socket, req, rtc),
    "huddle:leave": (socket, req) => leaveHuddle(socket, req, rtc),
    "huddle:toggle-audio": (socket, req) => toggleHuddle(socket, "audio", req.huddle_id, req.enabled, rtc),
    "huddle:toggle-video": (socket, req) => toggleHuddle(socket, "video", req.huddle_id, req.enabled, rtc),
    "huddle:toggle-screen": (socket, req) => toggleHuddle(socket, "screen", req.huddle_id, req.enabled, rtc),
    "huddle:raise-hand": (socket, req) => toggleHuddle(socket, "hand", req.huddle_id, req.raised, rtc),
    "huddle:message": (socket, req) => huddleMessage(socket, req, rtc),
    "huddle:invite": (socket, req) => inviteToHuddle(socket, req, rtc),
  } satisfies RequestHandlers;
  const table: RequestTable = {
    handlers: requests,
    logger,
    untimed: new Set(["subscribe"]),
    onRefused: (code, budget, event) => {
      if (code !== "rate_limited") return;
      metrics.limitRefusals.inc({
        limit: budget ? "request_rate" : CHARGED_AS_PUBLICATIONS.has(event) ? "client_publish_rate" : "subscribe_rate",
      });
    },
  };
  // One timer for every connection's token, not one per connection.
  const expiry = new TokenExpiry<HubSocket>({ expOf: (socket) => socket.data.principal.exp, onExpired: expireSocket });
  // Shared by every socket (Socket.IO calls it with the socket as `this`): no closure per connection.
  function disconnected(this: HubSocket): void {
    expiry.unwatch(this);
    admission?.disconnected(this);
    endCallsOf(this, rtc, (error, callId) => logger.warn({ err: error, call_id: callId }, "could not end the call of a closed connection"));
    leaveHuddlesOf(this, rtc, (error, huddleId) =>
      logger.warn({ err: error, huddle_id: huddleId }, "could not tell a huddle that a connection closed"),
    );
  }
  io.on("connection", (socket: HubSocket) => {
    socket.data.subscribeBucket = new TokenBucket(config.limits.subscribeRatePerSecond);
    socket.data.requestBucket = new TokenBucket(config.limits.requestRatePerSecond);
    const auth = socket.handshake.auth as { resync?: unknown; coalesce?: unknown } | undefined;
    if (auth?.resync === true) socket.data.resync = true;
    if (auth?.coalesce === true) socket.data.coalesce = true;
    shedHandshake(socket);
    admission?.connected(socket);
    expiry.watch(socket);
    presenceTracking.watch(socket);
    socket.on("disconnect", disconnected);
    serveRequests(socket, table);
  });

  return {
    io,
    http,
    publisher,
    async listen() {
      const address = await listenOn(http, config.port, config.host);
      if (healthServer) await listenOn(healthServer, config.healthPort as number, config.host);
      return address;
    },
    healthAddress: () => (healthServer?.listening ? (healthServer.address() as AddressInfo) : undefined),
    routes: () => registeredRoutes(routers),
    async ready() {
      await engine.ready();
      if (lifecycle === "starting") lifecycle = "serving";
    },
    async close() {
      lifecycle = "draining";
      // Leaving first: the other owners take over this node's orgs while it still processes them.
      const leftLegacy = legacyPartition?.close();
      reconciler?.stop();
      outbound.stop();
      admission?.stop();
      await drainClients(io, http, logger, clientWaitMs(config.shutdownTimeoutMs));
      expiry.close();
      await queueWorker?.close();
      await sweeper.close();
      runtime.close();
      await push.close();
      await presence.close();
      await leftLegacy;
      await engine.close();
      // Last: the balancer reads 503 on it while the node drains. A check in flight is answered.
      if (healthServer?.listening) {
        const closed = new Promise((resolve) => healthServer.close(resolve));
        healthServer.closeIdleConnections();
        await closed;
      }
    },
  };
}

function listenOn(server: HttpServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Whether a topic's namespace takes ephemeral client events (whose senders' sockets are left out). */
function hasEphemeralEvents(topic: ParsedTopic): boolean {
  for (const event of topic.namespace.clientEvents.values()) if (event.kind === "ephemeral") return true;
  return false;
}

/** This node's sockets in any of the rooms, each once. */
function socketsIn(io: HubServer, rooms: readonly string[]): HubSocket[] {
  const nsp = io.of("/");
  const found = new Set<HubSocket>();
  for (const room of rooms) {
    for (const id of nsp.adapter.rooms.get(room) ?? []) {
      const socket = nsp.sockets.get(id);
      if (socket) found.add(socket);
    }
  }
  return [...found];
}
