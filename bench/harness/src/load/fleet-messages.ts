import type { HistogramSnapshot } from "../latency-histogram.js";
import type { WireProtocol } from "./wire-connection.js";

export interface FleetAssignment {
  urls: string[];
  /** Connections this process opens; connection i goes to urls[(firstIndex + i) % urls.length]. */
  count: number;
  firstIndex: number;
  protocol: WireProtocol;
  /** Handshakes in flight at once. */
  concurrency: number;
  /** Source addresses (127.0.0.x) used in turn, past the ephemeral port range of one address. */
  localAddresses?: string[];
  /** Epoch ms after which no further connection is started; the rest are reported as `skipped`. */
  deadline?: number;
}

export type ToWorker =
  | { type: "start"; assignment: FleetAssignment }
  | { type: "progress" }
  | { type: "report" }
  | { type: "reset"; minSeq: number }
  | { type: "close" };

export interface WorkerReport {
  received: number;
  warmup: number;
  outOfOrder: number;
  unreadable: number;
  dropped: number;
  firstAt: number;
  lastAt: number;
  latency: HistogramSnapshot;
}

export type FromWorker =
  | { type: "ready"; connected: number; failed: number; skipped?: number; firstError: string | undefined; connectMs: number }
  | { type: "progress"; received: number; warmup: number; cpuMicros: number }
  | { type: "report"; report: WorkerReport }
  | { type: "reset-done" };
