import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { userToken } from "@hub/devkit";
import WebSocket from "ws";
import { LatencyHistogram } from "../latency-histogram.js";

/** How a load client talks to a server: the Socket.IO v5 wire protocol, or plain frames. */
export type WireProtocol =
  | {
      kind: "socket.io";
      /**
       * Sent in the CONNECT packet (`40{...}`); the hub reads the token from it. `userTokenOrg`: each
       * connection signs its own user token for user `u<index>` of that org (see `forConnection`).
       */
      auth: { token: string; coalesce?: boolean } | { userTokenOrg: string } | undefined;
      /** Joined with `421["subscribe",{"topic":...}]`; the connection is ready once acknowledged. `{user}` becomes `u<index>`. */
      topic: string;
    }
  | { kind: "raw" };

/** The protocol for connection `index` of the fleet: its own user token and topic where asked for. */
export async function forConnection(protocol: WireProtocol, index: number): Promise<WireProtocol> {
  if (protocol.kind === "raw") return protocol;
  const user = `u${index}`;
  const auth =
    protocol.auth && "userTokenOrg" in protocol.auth
      ? { token: await userToken({ sub: user, org_id: protocol.auth.userTokenOrg }, { expiresIn: 24 * 3600 }) }
      : protocol.auth;
  return { ...protocol, auth, topic: protocol.topic.replaceAll("{user}", user) };
}

/** Counters one client process keeps over all its connections. */
export class DeliveryStats {
  readonly latency = new LatencyHistogram();
  /** Measured deliveries (`bench_seq >= 0`). */
  received = 0;
  /** Warm-up deliveries (`bench_seq < 0`), not in the latency figures. */
  warmup = 0;
  /** A sequence number that was not greater than the previous one on the same connection. */
  outOfOrder = 0;
  /** Frames without a readable `bench_seq` / `bench_sent`. */
  unreadable = 0;
  /** Connections closed after they were subscribed. */
  dropped = 0;
  firstAt = 0;
  lastAt = 0;
  /** Events below this sequence number belong to an earlier measurement: counted as `stale`, nothing else. */
  minSeq = Number.NEGATIVE_INFINITY;
  stale = 0;

  /** Starts a new measurement (a saturation step) from `minSeq`; per-connection order tracking carries on. */
  reset(minSeq: number): void {
    this.minSeq = minSeq;
    this.stale = 0;
    this.latency.reset();
    this.received = 0;
    this.warmup = 0;
    this.outOfOrder = 0;
    this.unreadable = 0;
    this.dropped = 0;
    this.firstAt = 0;
    this.lastAt = 0;
  }
}

const SEQ = Buffer.from('"bench_seq":');
const SENT = Buffer.from('"bench_sent":');
const CHAR_0 = 0x30;
const CHAR_2 = 0x32;
const CHAR_3 = 0x33;
const CHAR_4 = 0x34;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Each open connection's TCP socket (from the upgrade response), to reset it on close. */
const tcpSockets = new WeakMap<WebSocket, Socket>();

/**
 * Ends a connection with a TCP reset rather than a FIN: no TIME_WAIT on this side, so a fleet of
 * tens of thousands of connections from a few source addresses leaves their ephemeral ports free
 * for the next system or run (a closed socket holds its port for 60 s in TIME_WAIT otherwise).
 */
export function resetConnection(ws: WebSocket): void {
  const socket = tcpSockets.get(ws);
  if (socket && !socket.destroyed) socket.resetAndDestroy();
  else ws.terminate();
}

/**
 * Opens one lightweight client and resolves once it receives events: for Socket.IO after the open
 * packet, the CONNECT and an acknowledged subscribe; for raw once the socket is open. It answers
 * pings and parses only `bench_seq` and `bench_sent` out of each event frame.
 */
export function openConnection(url: string, protocol: WireProtocol, stats: DeliveryStats, localAddress?: string): Promise<WebSocket> {
  // A source address of its own (127.0.0.x) gives the connection another ephemeral port range.
  const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
  ws.once("upgrade", (response) => tcpSockets.set(ws, response.socket));
  let lastSeq = Number.NEGATIVE_INFINITY;
  let ready = false;

  // A hub batch frame (`42["batch",[[event, envelope], ...]]`, negotiated with `auth.coalesce`) carries several events: each counts.
  const record = (frame: Buffer) => {
    let from = 0;
    for (;;) {
      const seqAt = frame.indexOf(SEQ, from);
      const sentAt = frame.indexOf(SENT, from);
      if (seqAt < 0 || sentAt < 0) {
        if (from === 0) stats.unreadable++;
        return;
      }
      recordOne(frame, seqAt, sentAt);
      from = Math.max(seqAt, sentAt) + 1;
    }
  };
  const recordOne = (frame: Buffer, seqAt: number, sentAt: number) => {
    const now = performance.timeOrigin + performance.now();
    const seq = Number.parseInt(frame.toString("latin1", seqAt + SEQ.length, seqAt + SEQ.length + 24), 10);
    const sent = Number.parseFloat(frame.toString("latin1", sentAt + SENT.length, sentAt + SENT.length + 32));
    if (!Number.isFinite(seq) || !Number.isFinite(sent)) {
      stats.unreadable++;
      return;
    }
    if (seq <= lastSeq) stats.outOfOrder++;
    lastSeq = seq;
    if (seq < stats.minSeq) {
      stats.stale++;
      return;
    }
    if (seq < 0) {
      stats.warmup++;
      return;
    }
    stats.received++;
    stats.latency.record(now - sent);
    if (stats.firstAt === 0) stats.firstAt = now;
    stats.lastAt = now;
  };

  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${url}: not subscribed after ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    const becomeReady = () => {
      clearTimeout(timer);
      ready = true;
      resolve(ws);
    };
    ws.on("error", (error) => {
      if (!ready) fail(error);
    });
    ws.on("close", () => {
      if (ready) stats.dropped++;
      else fail(new Error(`${url}: closed during the handshake`));
    });
    if (protocol.kind === "raw") {
      ws.on("open", becomeReady);
      ws.on("message", (data: Buffer) => record(data));
      return;
    }
    ws.on("message", (data: Buffer) => {
      const type = data[0];
      if (type === CHAR_4 && data[1] === CHAR_2) return record(data); // 42[event, ...]
      if (type === CHAR_2 && data.length === 1) return void ws.send("3"); // ping -> pong
      if (ready) return;
      const text = data.toString();
      if (type === CHAR_0) {
        ws.send(protocol.auth ? `40${JSON.stringify(protocol.auth)}` : "40");
      } else if (text.startsWith("40")) {
        ws.send(`421${JSON.stringify(["subscribe", { topic: protocol.topic }])}`);
      } else if (text.startsWith("44")) {
        fail(new Error(`${url}: CONNECT refused: ${text}`));
      } else if (type === CHAR_4 && data[1] === CHAR_3 && text.startsWith("431")) {
        if (text.includes('"ok":true')) becomeReady();
        // The hub's client SDK retries a subscribe refused as `unavailable` (a catch-up that timed out): so do we, within the timeout.
        else if (text.includes('"code":"unavailable"')) ws.send(`421${JSON.stringify(["subscribe", { topic: protocol.topic }])}`);
        else fail(new Error(`${url}: subscribe refused: ${text}`));
      }
    });
  });
}
