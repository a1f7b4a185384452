import { type IngestResult, isPaced, LEGACY_WINDOW } from "./ingest.js";
import { findings, fixed, glanceRow, int, notClean, ratio, ratioTarget, row, table } from "./report-format.js";
import type { GlanceRow, Scenario, ScenarioReport } from "./scenario-report.js";

/** The emitter path's events/s against `@socket.io/redis-emitter`'s, at least. */
const EMITTER_RATIO_TARGET = 0.8;
/** redis-server's CPU per event on the emitter path, µs, at most. */
const REDIS_MICROS_TARGET = 7;
/** The legacy channel's p99 at the paced rate, ms. */
const LEGACY_P99_TARGET = 50;

function render({ results: all }: ScenarioReport<IngestResult>, { params }: IngestResult): string[] {
  const results = all.filter((r) => !isPaced(r.path));
  const paced = all.filter((r) => isPaced(r.path));
  const hubPaths = results.filter((r) => r.system === "hub");
  const baselines = results.filter((r) => r.system !== "hub");
  // Each hub path against each baseline's one path: events/s, and the CPU of every process an event passes through.
  const total = (r: IngestResult) => r.serverCpuMicrosPerEvent + r.redisCpuMicrosPerEvent + r.producerCpuMicrosPerEvent;
  const ratios = baselines.flatMap((base) =>
    hubPaths.map((r) =>
      row([`hub ${r.path}/${base.system}`, ratio(r.eventsPerSecond, base.eventsPerSecond), ratio(total(r), total(base))]),
    ),
  );
  const emitter = results.find((r) => r.path === "emitter");
  return [
    `${int(params.events)} events per producer path as fast as the producer goes (after ${int(params.warmupEvents)} unmeasured), ` +
      `payload ~${params.payloadBytes} bytes, one server process, one wire subscriber on the topic; an event counts as ingested when ` +
      `it reached the subscriber. Hub paths validate and dedupe (explicit ids) and keep history: \`org:bench\` is a built-in ` +
      "namespace, so every publish also appends to the topic's Redis stream and gets an offset in the same Lua script. " +
      `Emitter SDK and legacy PUBLISH keep ${params.concurrency} publishes in flight, and the legacy producer stays at most ` +
      `${int(LEGACY_WINDOW)} events ahead of the subscriber: Redis disconnects a pub/sub subscriber whose output buffer passes ` +
      "`client-output-buffer-limit pubsub` (32 MB), and an unbounded producer (500,000 events, full mode) lost 74% of them when " +
      "Redis dropped the gateway's legacy subscriber. " +
      `HTTP posts batches of ${params.httpBatch} with ${params.httpConcurrency} requests in flight. The baselines ` +
      "publish without validation or dedupe: plain with `@socket.io/redis-emitter` (a PING every " +
      `${params.concurrency} emits to bound its buffer), raw with Redis \`PUBLISH\`. CPU is per event over the measured window: ` +
      "server (gateway; it also delivers each event to the subscriber), redis-server, and the producer (the harness process). " +
      '"events per validating core" divides events by the CPU time of the process that validates and dedupes: the producer for ' +
      "the emitter paths, the gateway for legacy and HTTP.",
    "",
    ...table(
      "| system | path | events/s | server CPU µs/event | redis CPU µs/event | producer CPU µs/event | events per validating core | p99 ms | losses | gateway accepted |",
      "| ------ | ---- | -------: | ------------------: | -----------------: | --------------------: | -------------------------: | -----: | -----: | ---------------: |",
      results.map(
        (r) =>
          `| ${r.system} | ${r.path} | ${int(r.eventsPerSecond)} | ${fixed(r.serverCpuMicrosPerEvent)} | ${fixed(r.redisCpuMicrosPerEvent)} | ` +
          `${fixed(r.producerCpuMicrosPerEvent)} | ${Number.isFinite(r.eventsPerValidatingCore) ? int(r.eventsPerValidatingCore) : "n/a"} | ` +
          `${fixed(r.latencyMs.p99)} | ${int(r.losses)} | ${r.gatewayAccepted === undefined ? "" : int(r.gatewayAccepted)} |`,
      ),
    ),
    ...table(
      "| ratio | events/s | server + redis + producer CPU per event |",
      "| ----- | -------: | --------------------------------------: |",
      ratios,
    ),
    ...(emitter
      ? [
          emitterTarget(
            emitter,
            results.find((r) => r.path === "plain-emitter"),
          ),
          "",
        ]
      : []),
    ...(paced.length > 0 ? renderPaced(paced, params) : []),
    ...all
      .filter((r) => r.losses !== 0 || r.publishFailures !== 0)
      .flatMap((r) => notClean(`${r.system} ${r.path}`, `losses ${r.losses}, publish failures ${r.publishFailures}`)),
  ];
}

/** The legacy channel and its baseline (`@socket.io/redis-emitter`) at one fixed rate: latency. */
function renderPaced(paced: IngestResult[], params: IngestResult["params"]): string[] {
  const legacy = paced.find((r) => r.path === "legacy-paced");
  return [
    `At a fixed rate: ${int(params.pacedRate)} events/s for ${int(params.pacedEvents)} events (after ${int(params.warmupEvents)} ` +
      "unmeasured at the same rate), the same subscriber; the hub through the legacy channel (`PUBLISH prostaff:events:{org}`, " +
      "without waiting for each), plain through `@socket.io/redis-emitter`. Latency is send time to the subscriber's receipt.",
    "",
    ...table(
      "| system | path | events/s | p50 ms | p99 ms | max ms | server CPU µs/event | redis CPU µs/event | losses |",
      "| ------ | ---- | -------: | -----: | -----: | -----: | ------------------: | -----------------: | -----: |",
      paced.map(
        (r) =>
          `| ${r.system} | ${r.path} | ${int(r.eventsPerSecond)} | ${fixed(r.latencyMs.p50)} | ${fixed(r.latencyMs.p99)} | ` +
          `${fixed(r.latencyMs.max)} | ${fixed(r.serverCpuMicrosPerEvent)} | ${fixed(r.redisCpuMicrosPerEvent)} | ${int(r.losses)} |`,
      ),
    ),
    ...(legacy
      ? [
          `Target "legacy channel p99 < ${LEGACY_P99_TARGET} ms at ${int(params.pacedRate)} events/s": ` +
            `**${legacy.latencyMs.p99 < LEGACY_P99_TARGET && legacy.losses === 0 ? "met" : "missed"}** (${fixed(legacy.latencyMs.p99)} ms).`,
          "",
        ]
      : []),
  ];
}

function emitterTarget(emitter: IngestResult, plain: IngestResult | undefined): string {
  const redisMet = emitter.redisCpuMicrosPerEvent <= REDIS_MICROS_TARGET;
  return (
    `Target "emitter path events/s ${ratioTarget(emitter.eventsPerSecond, plain?.eventsPerSecond, "least", EMITTER_RATIO_TARGET, "redis-emitter")}" ` +
    `(${int(emitter.eventsPerSecond)} events/s end to end, with validation, dedupe and history; ${int(emitter.eventsPerValidatingCore)} ` +
    `events per CPU-second of the producer process, where the SDK validates). Target "redis CPU <= ${REDIS_MICROS_TARGET} µs per event": ` +
    `**${redisMet ? "met" : "missed"}** (${fixed(emitter.redisCpuMicrosPerEvent)} µs; redis-emitter ${plain ? fixed(plain.redisCpuMicrosPerEvent) : "n/a"}). ` +
    `On the emitter path the gateway only delivers; it does no per-event ingest work. Where Redis time goes: ${findings("ingest-where-redis-time-goes")}.`
  );
}

function glance({ results }: ScenarioReport<IngestResult>): GlanceRow[] {
  const path = (name: string) => results.find((r) => r.path === name);
  const emitter = path("emitter");
  const legacy = path("legacy-paced");
  const rate = (legacy ?? results[0])?.params.pacedRate ?? 0;
  return [
    glanceRow(
      "ingest",
      "events/s (emitter SDK / redis-emitter / PUBLISH)",
      ["emitter", "plain-emitter", "raw-publish"].map((name) => path(name)?.eventsPerSecond),
      ratioTarget(emitter?.eventsPerSecond, path("plain-emitter")?.eventsPerSecond, "least", EMITTER_RATIO_TARGET, "redis-emitter"),
      int,
    ),
    glanceRow(
      "ingest",
      "redis CPU µs/event (emitter SDK / redis-emitter / PUBLISH)",
      ["emitter", "plain-emitter", "raw-publish"].map((name) => path(name)?.redisCpuMicrosPerEvent),
      emitter ? `<= ${REDIS_MICROS_TARGET} µs: **${emitter.redisCpuMicrosPerEvent <= REDIS_MICROS_TARGET ? "met" : "missed"}**` : "",
    ),
    ...(legacy || path("plain-paced")
      ? [
          glanceRow(
            "ingest",
            `legacy channel p99 ms at ${rate / 1000}k events/s`,
            [legacy?.latencyMs.p99, path("plain-paced")?.latencyMs.p99, undefined],
            legacy
              ? `< ${LEGACY_P99_TARGET} ms: **${legacy.latencyMs.p99 < LEGACY_P99_TARGET && legacy.losses === 0 ? "met" : "missed"}**`
              : "",
          ),
        ]
      : []),
  ];
}

/** Events/s through each producer path as fast as the producer goes, and the CPU each event costs. */
export const ingest: Scenario<IngestResult> = { name: "ingest", render, glance };
