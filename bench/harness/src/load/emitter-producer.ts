// A producer process of the emitter-throughput measurement: publishes through createHubEmitter to one
// Redis or a Redis Cluster as fast as it goes, with a bounded number of publishes in flight.
import { performance } from "node:perf_hooks";
import { createHubEmitter } from "@hub/emitter";
import { Cluster, Redis } from "ioredis";
import type { FromProducer, ProducerAssignment, ToProducer } from "./emitter-producer-messages.js";

let assignment: ProducerAssignment | undefined;
let redis: Redis | Cluster | undefined;

function send(message: FromProducer): void {
  process.send?.(message);
}

/** Publishes `count` events, `concurrency` at a time, to users picked at random; resolves with the failures. */
async function publishMany(hub: ReturnType<typeof createHubEmitter>, a: ProducerAssignment, count: number): Promise<number> {
  const pad = "x".repeat(Math.max(0, a.payloadBytes - 60));
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      const user = `u${Math.floor(Math.random() * a.users)}`;
      try {
        await hub.publish({ type: "notification.created", org_id: a.org, user_id: user, payload: { bench_seq: next, bench_sent: 0, pad } });
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(a.concurrency, count) }, lane));
  return failed;
}

async function start(a: ProducerAssignment): Promise<void> {
  assignment = a;
  redis = a.target.kind === "cluster" ? new Cluster(a.target.nodes) : new Redis(a.target.url);
  const hub = createHubEmitter({ redis });
  // Connections, scripts loaded, JIT warm.
  const warmupFailed = await publishMany(hub, a, a.warmupEvents);
  send({ type: "ready", warmupFailed });
}

async function go(): Promise<void> {
  if (!assignment || !redis) throw new Error("emitter-producer: go before start");
  const hub = createHubEmitter({ redis });
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.timeOrigin + performance.now();
  const failed = await publishMany(hub, assignment, assignment.events);
  const endedAt = performance.timeOrigin + performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  send({ type: "done", published: assignment.events, failed, startedAt, endedAt, cpuMicros: cpu.user + cpu.system });
}

process.on("message", (message: ToProducer) => {
  switch (message.type) {
    case "start":
      void start(message.assignment);
      break;
    case "go":
      void go();
      break;
    case "close":
      redis?.disconnect();
      process.disconnect();
      break;
  }
});

// The harness owns this process: if it goes away, so do we.
process.on("disconnect", () => process.exit(0));
