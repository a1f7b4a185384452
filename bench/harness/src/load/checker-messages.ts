export interface CheckerAssignment {
  kind: "socket.io" | "raw";
  urls: string[];
  /** The hub's user token; undefined for the baselines. */
  token: string | undefined;
  topic: string;
  /** Clients, spread over `urls`. */
  clients: number;
  /** Messages whose `bench_seq` is below this (warm-up) are not kept. */
  minSeq: number;
}

/** One message as a content checker received it. */
export interface CheckerMessage {
  /** Socket.IO event name; "message" for raw frames. */
  event: string;
  /** The first argument (the envelope for the hub, the payload for plain), or the parsed raw frame. */
  body: unknown;
  /** Arguments the event carried (1 expected). */
  args: number;
  /** Receipt time, epoch ms (performance.timeOrigin + now). */
  at: number;
}

export type ToChecker = { type: "start"; assignment: CheckerAssignment } | { type: "collect" } | { type: "close" };

export type FromChecker = { type: "ready" } | { type: "failed"; error: string } | { type: "collected"; received: CheckerMessage[][] };
