/** Where a producer publishes: one Redis, or a Redis Cluster through ioredis `Cluster`. */
export type ProducerTarget = { kind: "single"; url: string } | { kind: "cluster"; nodes: Array<{ host: string; port: number }> };

/** What one producer process publishes. */
export interface ProducerAssignment {
  target: ProducerTarget;
  org: string;
  /** Measured events. */
  events: number;
  /** Unmeasured events first (connections, scripts, JIT). */
  warmupEvents: number;
  /** Publishes in flight at once. */
  concurrency: number;
  /** Each event goes to `notifications:u<i>` of a user picked at random among this many. */
  users: number;
  payloadBytes: number;
}

export type ToProducer = { type: "start"; assignment: ProducerAssignment } | { type: "go" } | { type: "close" };

export type FromProducer =
  | { type: "ready"; warmupFailed: number }
  | {
      type: "done";
      published: number;
      failed: number;
      /** Epoch ms of the first measured publish and of the last one settling. */
      startedAt: number;
      endedAt: number;
      /** The process's CPU over the measured publishes (µs). */
      cpuMicros: number;
    };
