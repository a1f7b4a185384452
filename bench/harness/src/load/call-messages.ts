import type { HistogramSnapshot } from "../latency-histogram.js";

/** Which server a call client talks to: the hub (JWT in the CONNECT packet) or the plain in-memory call relay. */
export type CallDialect = "hub" | "plain";

/** The pairs one call client process runs: caller `c<i>` and callee `e<i>` for each pair i. */
export interface CallAssignment {
  dialect: CallDialect;
  /** WebSocket URL of the callers' server (the hub's gateway 1). */
  callerUrl: string;
  /** WebSocket URL of the callees' server (the hub's gateway 2). */
  calleeUrl: string;
  firstPair: number;
  count: number;
  /** Org of the users' tokens (hub). */
  org: string;
  /** Handshakes in flight at once. */
  concurrency: number;
  /** ICE candidates each party sends once it got `call:answered`. */
  candidates: number;
}

export type ToCallClients =
  | { type: "start"; assignment: CallAssignment }
  /**
   * Every pair's caller initiates one call, `rate` per second. `answer`: the callee answers on
   * `call:incoming` and both parties send their candidates on `call:answered`; otherwise the call
   * rings until it is missed (`ringTimeoutMs` after the initiate is when `call:missed` is due).
   */
  | { type: "initiate"; rate: number; answer: boolean; ringTimeoutMs: number }
  /** Every pair's caller hangs up, `rate` per second. */
  | { type: "end"; rate: number }
  | { type: "progress" }
  | { type: "report" }
  | { type: "close" };

/** Counts of one kind of event over a process's pairs: each pair expects exactly one (or `candidates`) of it. */
export interface EventCount {
  expected: number;
  /** Expected events that did not arrive. */
  lost: number;
  /** Arrivals beyond the expected number. */
  duplicated: number;
}

/** What one call client process measured. */
export interface CallClientReport {
  initiateAck: HistogramSnapshot;
  incoming: HistogramSnapshot;
  answerRoundTrip: HistogramSnapshot;
  iceRelay: HistogramSnapshot;
  endRoundTrip: HistogramSnapshot;
  /** `call:missed` at the callee minus (initiate time + ring timeout). */
  missedLateness: HistogramSnapshot;
  /** Per event name and receiving party (e.g. `callee call:incoming`). */
  events: Record<string, EventCount>;
  /** Events of a kind this phase should not produce (`call:busy`, or `call:missed` of an answered call), by name. */
  unexpected: Record<string, number>;
  /** Requests acknowledged with `ok: false`. */
  refused: number;
  firstRefusal?: string;
  /** Connections closed after they were subscribed. */
  dropped: number;
  cpuMicros: number;
}

export interface CallProgress {
  type: "progress";
  /** Calls whose candidates arrived both ways (answer phase), or whose `call:missed` reached both parties (ring phase). */
  settled: number;
  /** Calls whose `call:ended` reached both parties. */
  ended: number;
  cpuMicros: number;
}

export type FromCallClients =
  | { type: "ready"; connected: number; failed: number; firstError: string | undefined; connectMs: number }
  | { type: "initiated"; lagMaxMs: number; firstAt: number; lastAt: number }
  | { type: "ending"; lagMaxMs: number }
  | CallProgress
  | { type: "report"; report: CallClientReport };
