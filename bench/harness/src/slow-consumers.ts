import { setTimeout as sleep } from "node:timers/promises";
import { padFor } from "./fanout.js";
import type { LatencySummary } from "./latency-histogram.js";
import { ClientFleet, type FleetTotals } from "./load/client-fleet.js";
import { PausedClients } from "./load/paused-clients.js";
import type { WireProtocol } from "./load/wire-connection.js";
import { NoiseMeter } from "./machine.js";
import { now, produceAtRate, waitForFleet } from "./pacing.js";
import { processRssBytes } from "./process-memory.js";
import type { ServerFigures } from "./servers/stats-route.js";
import { BENCH_ORG, type BenchPayload, type SystemName, type SystemUnderTest } from "./systems.js";

export interface SlowConsumersParams {
  /** Clients that subscribe and then stop reading their TCP socket. */
  paused: number;
  /** Clients on the same topic that read everything; their latency and losses are measured. */
  healthy: number;
  /** Events per second the producer publishes to the topic. */
  rate: number;
  /** Approximate JSON size of each event's payload. */
  payloadBytes: number;
  /** How long the paused clients stay paused while the producer runs. */
  seconds: number;
  /** Published first, every client reading, and not measured. */
  warmupSeconds: number;
  /** After the warm-up, every client still reading: the healthy clients' latency and the RSS growth without a slow consumer. */
  controlSeconds: number;
  /** RSS is sampled this long after the paused clients closed: whether the server gives the memory back. */
  afterSeconds: number;
  /** How long after the last publish healthy deliveries may still arrive before the rest count as lost. */
  drainMs: number;
  /** `CLIENT_BUFFER_BYTES` of the hub's gateway: the cap of each connection's outbound buffer. */
  clientBufferBytes: number;
  /**
   * The bound's constant: how much the server's RSS may grow beyond paused × clientBufferBytes
   * while the clients are paused (heap headroom of the collector, the healthy clients' own buffers).
   */
  allowanceBytes: number;
}

const MiB = 1024 * 1024;

export const SLOW_CONSUMERS_QUICK: SlowConsumersParams = {
  paused: 10,
  healthy: 100,
  rate: 400,
  payloadBytes: 8 * 1024,
  seconds: 12,
  warmupSeconds: 2,
  controlSeconds: 4,
  afterSeconds: 1,
  drainMs: 10_000,
  clientBufferBytes: MiB,
  allowanceBytes: 16 * MiB,
};
export const SLOW_CONSUMERS_FULL: SlowConsumersParams = {
  ...SLOW_CONSUMERS_QUICK,
  paused: 100,
  // 400 events/s of 8 KB to 200 clients saturated both servers' 2 cores even with nobody paused
  // (control p99 over 600 ms for both): 150/s keeps the control phase below saturation, so the
  // healthy clients' p99 says something.
  rate: 150,
  seconds: 20,
  warmupSeconds: 3,
  controlSeconds: 5,
  afterSeconds: 2,
  drainMs: 20_000,
};

/** The hub against plain Socket.IO; raw `ws` is not run (the issue compares the hub with plain). */
export const SLOW_CONSUMERS_SYSTEMS: SystemName[] = ["hub", "plain"];

/** The server environment of this scenario: the cap the bound is computed from (plain ignores it). */
export function slowConsumersEnv(params: SlowConsumersParams): Record<string, string> {
  return { CLIENT_BUFFER_BYTES: String(params.clientBufferBytes) };
}

/** What the server says about its connections. */
export interface ServerCounts {
  /** Open connections: the hub's `hub_connections`, plain's `io.engine.clientsCount`. */
  connections: number;
  /** The hub's `hub_slow_consumer_disconnects_total` (all labels); absent where the gateway does not export it. */
  slowConsumerDisconnects?: number;
  /** Plain's closed connections by Socket.IO reason. */
  disconnects?: Record<string, number>;
}

export interface RssSample {
  /** Seconds since the paused clients stopped reading (negative: warm-up and control). */
  t: number;
  phase: "warm-up" | "control" | "paused" | "closed";
  rssBytes: number;
  /** The server's open connections at that moment, when its answer came. */
  connections?: number;
}

export interface SlowConsumersResult {
  system: SystemName;
  params: SlowConsumersParams;
  healthyConnected: number;
  pausedConnected: number;
  connectFailures: number;
  connectError?: string;
  eventsPublished: number;
  publishFailures: number;
  producerLagMaxMs: number;
  /** Healthy clients while nobody was paused (the control phase). */
  control: HealthyFigures & {
    /** Highest RSS sample of the control phase minus the RSS at its start: the load's own growth. */
    rssGrowthBytes: number;
  };
  /** Healthy clients while the paused clients did not read. */
  healthy: HealthyFigures;
  rss: {
    /** Read the moment the clients paused. */
    atPauseBytes: number;
    /** Highest sample while paused. */
    maxBytes: number;
    /** At the end of the window. */
    endBytes: number;
    /** maxBytes - atPauseBytes. */
    growthBytes: number;
    /** (endBytes - atPauseBytes) over the window's seconds. */
    growthBytesPerSecond: number;
    /** The last sample after the paused clients closed. */
    afterCloseBytes: number;
    series: RssSample[];
  };
  /** paused × clientBufferBytes + allowanceBytes: the growth the hub's cap allows (the same figure for plain, as a yardstick). */
  boundBytes: number;
  withinBound: boolean;
  serverBefore: ServerCounts;
  serverAfter: ServerCounts;
  /** Connections the server closed during the window, less the healthy clients it dropped: paused clients disconnected. */
  pausedDisconnected: number;
  windowSeconds: number;
  otherCores: number;
}

export interface HealthyFigures {
  expected: number;
  received: number;
  /** expected - received; a healthy client dropped by the server counts here too. */
  losses: number;
  dropped: number;
  outOfOrder: number;
  latencyMs: LatencySummary;
}

const CLIENT_PROCESSES = 2;

/**
 * N paused clients next to M healthy ones on one topic of one server process, a producer at a fixed
 * rate: the server's RSS every second, the healthy clients' latency and losses, and who was disconnected.
 */
export async function runSlowConsumers(system: SystemUnderTest, params: SlowConsumersParams): Promise<SlowConsumersResult> {
  if (system.protocol.kind !== "socket.io") throw new Error(`slow-consumers: ${system.name} has no topics`);
  const pid = system.serverPids[0] as number;
  // One user per connection for the hub, so a per-user connection limit cannot refuse the clients.
  const protocol: WireProtocol = { ...system.protocol, auth: system.name === "hub" ? { userTokenOrg: BENCH_ORG } : undefined };
  const started = await ClientFleet.start({ urls: system.urls, protocol, connections: params.healthy, processes: CLIENT_PROCESSES });
  const { fleet } = started;
  let paused: PausedClients | undefined;
  const sampler = new ServerSampler(system, pid);
  try {
    const opened = await PausedClients.open(system.urls, protocol, { count: params.paused, firstIndex: params.healthy });
    paused = opened.clients;
    const pad = padFor(params.payloadBytes);
    const publish = (seq: number, sent: number) => system.publish({ bench_seq: seq, bench_sent: sent, pad } satisfies BenchPayload);

    sampler.start();
    const warmupEvents = Math.round(params.rate * params.warmupSeconds);
    await produceAtRate(warmupEvents, params.rate, -warmupEvents, publish);
    await waitForFleet(fleet, (p) => p.warmup >= started.connected * warmupEvents, params.drainMs);

    const controlAt = now();
    const controlBytes = processRssBytes(pid);
    const controlEvents = Math.round(params.rate * params.controlSeconds);
    const controlLag = await produceAtRate(controlEvents, params.rate, 0, publish);
    await waitForFleet(fleet, (p) => p.received >= started.connected * controlEvents, params.drainMs);
    const control = healthyFigures(await fleet.totals(controlAt), started.connected * controlEvents);
    await fleet.reset(controlEvents);
    const serverBefore = await serverCounts(system);

    paused.pause();
    const pausedAt = now();
    const atPauseBytes = processRssBytes(pid);
    const noise = new NoiseMeter();
    const events = Math.round(params.rate * params.seconds);
    const { lagMaxMs } = await produceAtRate(events, params.rate, controlEvents, publish);
    const publishFailures = await system.settle();
    const expected = started.connected * events;
    await waitForFleet(fleet, (p) => p.received >= expected, params.drainMs);
    const windowEnd = now();
    const endBytes = processRssBytes(pid);
    const otherCores = noise.take();
    const serverAfter = await serverCounts(system);
    const healthy = healthyFigures(await fleet.totals(pausedAt), expected);

    paused.close();
    const closedAt = now();
    await sleep(params.afterSeconds * 1000);
    const series = await sampler.stop({ controlAt, pausedAt, closedAt });
    const during = series.filter((s) => s.phase === "paused").map((s) => s.rssBytes);
    const inControl = series.filter((s) => s.phase === "control").map((s) => s.rssBytes);
    const maxBytes = Math.max(atPauseBytes, endBytes, ...during);
    const boundBytes = params.paused * params.clientBufferBytes + params.allowanceBytes;
    const windowSeconds = (windowEnd - pausedAt) / 1000;
    return {
      system: system.name,
      params,
      healthyConnected: started.connected,
      pausedConnected: opened.connected,
      connectFailures: started.failed + opened.failed,
      ...(started.firstError || opened.firstError ? { connectError: started.firstError ?? opened.firstError } : {}),
      eventsPublished: events,
      publishFailures,
      producerLagMaxMs: Math.max(lagMaxMs, controlLag.lagMaxMs),
      control: { ...control, rssGrowthBytes: Math.max(controlBytes, ...inControl) - controlBytes },
      healthy,
      rss: {
        atPauseBytes,
        maxBytes,
        endBytes,
        growthBytes: maxBytes - atPauseBytes,
        growthBytesPerSecond: (endBytes - atPauseBytes) / windowSeconds,
        afterCloseBytes: series.at(-1)?.rssBytes ?? endBytes,
        series,
      },
      boundBytes,
      withinBound: maxBytes - atPauseBytes <= boundBytes,
      serverBefore,
      serverAfter,
      pausedDisconnected: Math.max(0, serverBefore.connections - serverAfter.connections - healthy.dropped),
      windowSeconds,
      otherCores,
    };
  } finally {
    // Paused sockets first: a server waits for their buffers to drain before it can close them.
    paused?.close();
    await sampler.stop();
    await fleet.close();
  }
}

/** The server's RSS every second, and its open connections when its answer comes. */
class ServerSampler {
  private readonly samples: Array<{ at: number; rssBytes: number; connections?: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly system: SystemUnderTest,
    private readonly pid: number,
  ) {}

  start(): void {
    this.take();
    this.timer = setInterval(() => this.take(), 1_000);
  }

  /** Stops sampling; the samples so far, in seconds from `pausedAt`, each in the phase its time falls in. */
  async stop(phases = { controlAt: 0, pausedAt: 0, closedAt: 0 }): Promise<RssSample[]> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.pending);
    const { controlAt, pausedAt, closedAt } = phases;
    return this.samples.map((s) => ({
      t: Math.round((s.at - pausedAt) / 100) / 10,
      phase: s.at < controlAt ? "warm-up" : s.at < pausedAt ? "control" : s.at < closedAt ? "paused" : "closed",
      rssBytes: s.rssBytes,
      ...(s.connections === undefined ? {} : { connections: s.connections }),
    }));
  }

  private take(): void {
    const sample: { at: number; rssBytes: number; connections?: number } = { at: now(), rssBytes: processRssBytes(this.pid) };
    this.samples.push(sample);
    const answer: Promise<unknown> = serverCounts(this.system)
      .then(
        (counts) => {
          sample.connections = counts.connections;
        },
        () => undefined, // the server is stopping; the RSS sample stands without it
      )
      .finally(() => this.pending.delete(answer));
    this.pending.add(answer);
  }
}

function healthyFigures(totals: FleetTotals, expected: number): HealthyFigures {
  const { received, dropped, outOfOrder, latencyMs } = totals;
  return { expected, received, losses: expected - received, dropped, outOfOrder, latencyMs };
}

/** The hub's /metrics or the plain server's /stats: open connections and disconnects. */
async function serverCounts(system: SystemUnderTest): Promise<ServerCounts> {
  const base = system.httpUrls[0] as string;
  if (system.name === "hub") {
    const text = await (await fetch(`${base}/metrics`)).text();
    const slow = metricSum(text, "hub_slow_consumer_disconnects_total");
    return {
      connections: metricSum(text, "hub_connections") ?? Number.NaN,
      ...(slow === undefined ? {} : { slowConsumerDisconnects: slow }),
    };
  }
  const stats = (await (await fetch(`${base}/stats`)).json()) as ServerFigures;
  return { connections: stats.connections, disconnects: stats.disconnects ?? {} };
}

/** The sum of a metric's samples over all labels; undefined when the exposition does not declare it. */
function metricSum(text: string, name: string): number | undefined {
  let declared = false;
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`# TYPE ${name} `)) declared = true;
    else if (line.startsWith(name) && (line[name.length] === " " || line[name.length] === "{")) {
      declared = true;
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return declared ? sum : undefined;
}
