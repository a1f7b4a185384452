// A client process of the load fleet: opens its share of connections and counts deliveries.
import { performance } from "node:perf_hooks";
import type WebSocket from "ws";
import type { FleetAssignment, FromWorker, ToWorker } from "./fleet-messages.js";
import { DeliveryStats, forConnection, openConnection, resetConnection } from "./wire-connection.js";

const stats = new DeliveryStats();
const sockets: WebSocket[] = [];

/** Resets every connection (no TIME_WAIT holding its source port afterwards). */
function closeAll(): void {
  for (const socket of sockets.splice(0)) resetConnection(socket);
}

function send(message: FromWorker): void {
  process.send?.(message);
}

async function start(assignment: FleetAssignment): Promise<void> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const began = performance.now();
  const lane = async () => {
    while (next < assignment.count && !(assignment.deadline !== undefined && Date.now() > assignment.deadline)) {
      const i = next++;
      const url = assignment.urls[(assignment.firstIndex + i) % assignment.urls.length] as string;
      try {
        const protocol = await forConnection(assignment.protocol, assignment.firstIndex + i);
        const local = assignment.localAddresses?.[(assignment.firstIndex + i) % assignment.localAddresses.length];
        sockets.push(await openConnection(url, protocol, stats, local));
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: assignment.concurrency }, lane));
  const skipped = assignment.count - next;
  send({ type: "ready", connected: sockets.length, failed, skipped, firstError, connectMs: performance.now() - began });
}

process.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "start":
      void start(message.assignment);
      break;
    case "progress": {
      const cpu = process.cpuUsage();
      send({ type: "progress", received: stats.received, warmup: stats.warmup, cpuMicros: cpu.user + cpu.system });
      break;
    }
    case "report": {
      const { received, warmup, outOfOrder, unreadable, dropped, firstAt, lastAt } = stats;
      const report = { received, warmup, outOfOrder, unreadable, dropped, firstAt, lastAt };
      send({ type: "report", report: { ...report, latency: stats.latency.snapshot() } });
      break;
    }
    case "reset":
      stats.reset(message.minSeq);
      send({ type: "reset-done" });
      break;
    case "close":
      closeAll();
      process.disconnect();
      break;
  }
});

// The harness owns this process: if it goes away, so do we. It sends SIGTERM right after "close":
// the connections are reset either way, not closed by the kernel at exit (which would leave TIME_WAIT).
process.on("disconnect", () => process.exit(0));
process.once("SIGTERM", () => {
  closeAll();
  process.exit(0);
});
