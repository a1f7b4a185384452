// A child process of the fault matrix's connection storm (fault-matrix.test.ts): it holds `count`
// @hub/client connections through the balancer, each subscribed to one topic, and tells its parent
// over IPC how many are connected and subscribed, which handshakes were refused, when each came back
// after a mark, and which events each was given. Clients live in children so that thousands of them
// neither share an event loop with the test's audience nor hit one process's open-file limit.
import { connectHub, type Hub, type HubError } from "@hub/client";

export interface StormStart {
  type: "start";
  url: string;
  token: string;
  count: number;
  topic: string;
  /** Connections opened per second at the start (pacing below the handshake limit). */
  perSecond: number;
  /** socket.io-client's first reconnect delay (randomized by ±50 %) and its ceiling, ms. */
  reconnectionDelay: number;
  reconnectionDelayMax: number;
}

export type StormCommand =
  | StormStart
  /** From now on: count refusals and disconnects afresh and record when each client is back. */
  | { type: "mark" }
  /** Answer `verified`: how many clients were given exactly these event ids, in this order. */
  | { type: "verify"; ids: string[] }
  | { type: "close" };

export interface StormStatus {
  type: "status";
  /** Marks taken so far (the parent waits for its mark to be taken). */
  marks: number;
  count: number;
  /** Clients whose socket is connected. */
  connected: number;
  /** Connected and their subscription confirmed on the current connection. */
  ready: number;
  /** Handshakes refused `rate_limited` since the last mark. */
  rateLimited: number;
  /** Other errors since the last mark, by code. */
  errors: Record<string, number>;
  /** Disconnects since the last mark. */
  disconnects: number;
  /** The same, by reason (socket.io-client's: `transport close`, `ping timeout`, ...). */
  reasons: Record<string, number>;
  /** onRecoveryFailed calls, ever. */
  recoveryFailed: number;
  /** Since the last mark: when each client that had dropped was ready again (epoch ms), in order. */
  backAt: number[];
}

export interface StormVerified {
  type: "verified";
  matching: number;
  /** Up to 3 clients that were given something else: what they were given. */
  samples: string[][];
}

interface Client {
  hub: Hub;
  connected: boolean;
  ready: boolean;
  /** Dropped since the last mark and not back yet. */
  dropped: boolean;
  ids: string[];
}

const clients: Client[] = [];
let marks = 0;
let rateLimited = 0;
let disconnects = 0;
let reasons: Record<string, number> = {};
let recoveryFailed = 0;
let errors: Record<string, number> = {};
let backAt: number[] = [];
let reportTimer: ReturnType<typeof setTimeout> | undefined;

function send(message: StormStatus | StormVerified | { type: "closed" }): void {
  process.send?.(message);
}

function status(): StormStatus {
  let connected = 0;
  let ready = 0;
  for (const client of clients) {
    if (client.connected) connected++;
    if (client.ready) ready++;
  }
  return {
    type: "status",
    marks,
    count: clients.length,
    connected,
    ready,
    rateLimited,
    errors,
    disconnects,
    reasons,
    recoveryFailed,
    backAt,
  };
}

/** Reports at most every 100 ms, and at once when nothing was reported for that long. */
function changed(): void {
  reportTimer ??= setTimeout(() => {
    reportTimer = undefined;
    send(status());
  }, 100);
}

function open(start: StormStart): Client {
  const { url, token, topic, reconnectionDelay, reconnectionDelayMax } = start;
  const hub = connectHub({
    url,
    // A token source: the SDK retries a refused handshake (rate_limited) only when it has one.
    getToken: () => token,
    requestTimeoutMs: 10_000,
    socketOptions: {
      transports: ["websocket"],
      reconnectionDelay,
      reconnectionDelayMax,
      randomizationFactor: 0.5,
    },
  });
  const client: Client = { hub, connected: false, ready: false, dropped: false, ids: [] };
  hub.on("connect", () => {
    client.connected = true;
    changed();
  });
  hub.on("disconnect", (reason: string) => {
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    client.connected = false;
    client.ready = false;
    client.dropped = true;
    disconnects++;
    changed();
  });
  hub.on("error", (error: HubError) => {
    if (error.code === "rate_limited") rateLimited++;
    else errors[error.code] = (errors[error.code] ?? 0) + 1;
    changed();
  });
  hub.subscribe(topic, {
    onEvent: (_event, envelope) => client.ids.push(envelope.id),
    onSubscribed: () => {
      if (!client.connected) return;
      client.ready = true;
      if (client.dropped) {
        client.dropped = false;
        backAt.push(Date.now());
      }
      changed();
    },
    onRecoveryFailed: () => {
      recoveryFailed++;
      changed();
    },
  });
  return client;
}

async function start(command: StormStart): Promise<void> {
  const startedAt = Date.now();
  for (let i = 0; i < command.count; i++) {
    // Pacing, not synchronization: the i-th connection opens at i / perSecond seconds.
    const due = startedAt + (i * 1_000) / command.perSecond;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    clients.push(open(command));
  }
  changed();
}

process.on("message", (command: StormCommand) => {
  switch (command.type) {
    case "start":
      void start(command);
      break;
    case "mark":
      marks++;
      rateLimited = 0;
      disconnects = 0;
      reasons = {};
      errors = {};
      backAt = [];
      for (const client of clients) client.dropped = false;
      send(status());
      break;
    case "verify": {
      const want = JSON.stringify(command.ids);
      const other = clients.filter((c) => JSON.stringify(c.ids) !== want);
      send({ type: "verified", matching: clients.length - other.length, samples: other.slice(0, 3).map((c) => c.ids) });
      break;
    }
    case "close":
      clearTimeout(reportTimer);
      for (const client of clients) client.hub.close();
      send({ type: "closed" });
      process.disconnect?.();
      break;
  }
});

// The parent gone (its IPC channel closed): nothing to report to.
process.on("disconnect", () => process.exit(0));
