// A client process of the calls scenario: opens a caller and a callee connection for each of its
// pairs, each subscribed to its own `webrtc:` topic, then runs one call per pair: initiate, ring,
// answer, candidates both ways and hang-up (or a ring left to time out), timing each step on this
// process's clock (caller and callee of a pair live here).
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { userToken } from "@hub/devkit";
import WebSocket from "ws";
import { LatencyHistogram } from "../latency-histogram.js";
import type { CallAssignment, CallClientReport, EventCount, FromCallClients, ToCallClients } from "./call-messages.js";

const HANDSHAKE_TIMEOUT_MS = 30_000;
const TOKEN_LIFETIME_S = 24 * 3600;
const SUBSCRIBE_ACK = 1;
const now = () => performance.timeOrigin + performance.now();

type Role = "caller" | "callee";

interface Party {
  pair: Pair;
  role: Role;
  user: string;
  ws: WebSocket;
  /** Arrivals per event name. */
  got: Map<string, number>;
  /** Candidate numbers received, to tell a duplicate from a new one. */
  candidates: Set<number>;
}

interface Pair {
  index: number;
  caller: Party;
  callee: Party;
  callId: string | undefined;
  initiatedAt: number;
  answerSentAt: number;
  endSentAt: number;
  settled: boolean;
  ended: boolean;
}

const pairs: Pair[] = [];
let assignment: CallAssignment | undefined;
/** Whether callees answer this phase's calls (otherwise they ring until missed). */
let answering = true;
let ringTimeoutMs = 0;
let nextAck = SUBSCRIBE_ACK + 1;
const pendingAcks = new Map<number, (reply: { ok: boolean; call_id?: string; error?: unknown }) => void>();

const histograms = {
  initiateAck: new LatencyHistogram(),
  incoming: new LatencyHistogram(),
  answerRoundTrip: new LatencyHistogram(),
  iceRelay: new LatencyHistogram(),
  endRoundTrip: new LatencyHistogram(),
  missedLateness: new LatencyHistogram(),
};
const unexpected: Record<string, number> = {};
const counts = { settled: 0, ended: 0, refused: 0, dropped: 0 };
let firstRefusal: string | undefined;

function send(message: FromCallClients): void {
  process.send?.(message);
}

/** Sends request `event` with an ack; `onOk` runs on `ok: true`, a refusal is counted. */
function request(party: Party, event: string, body: object, onOk?: (reply: { call_id?: string }) => void): void {
  const id = nextAck++;
  pendingAcks.set(id, (reply) => {
    if (reply.ok) onOk?.(reply);
    else {
      counts.refused++;
      firstRefusal ??= `${event}: ${JSON.stringify(reply).slice(0, 300)}`;
    }
  });
  party.ws.send(`42${id}${JSON.stringify([event, body])}`);
}

function countEvent(party: Party, name: string): number {
  const n = (party.got.get(name) ?? 0) + 1;
  party.got.set(name, n);
  return n;
}

/** Whether a pair's call is set up: both got `call:answered` and every candidate arrived both ways. */
function checkSettled(pair: Pair): void {
  if (pair.settled || !assignment) return;
  const all = assignment.candidates;
  if (pair.caller.candidates.size === all && pair.callee.candidates.size === all) {
    if ((pair.caller.got.get("call:answered") ?? 0) > 0 && (pair.callee.got.get("call:answered") ?? 0) > 0) {
      pair.settled = true;
      counts.settled++;
    }
  }
}

function sendCandidates(party: Party): void {
  const pair = party.pair;
  for (let n = 0; n < (assignment?.candidates ?? 0); n++) {
    request(party, "webrtc:ice-candidate", { call_id: pair.callId, candidate: { n, sent: now(), sdpMid: "0", sdpMLineIndex: 0 } });
  }
}

/** One event delivered to `party`: `[name, envelope]` (the hub's envelope, or plain's `{ type, data }`). */
function onEvent(party: Party, name: string, envelope: { data?: Record<string, unknown> }): void {
  const at = now();
  const pair = party.pair;
  const data = envelope.data ?? {};
  if (typeof data.call_id === "string") {
    if (name === "call:incoming") pair.callId ??= data.call_id;
    else if (pair.callId !== undefined && data.call_id !== pair.callId) {
      unexpected[`${name} of another call`] = (unexpected[`${name} of another call`] ?? 0) + 1;
      return;
    }
  }
  const n = countEvent(party, name);
  switch (name) {
    case "call:incoming":
      if (party.role !== "callee" || n > 1) return;
      histograms.incoming.record(at - pair.initiatedAt);
      if (!answering) return;
      pair.answerSentAt = now();
      request(party, "call:answer", { call_id: pair.callId });
      return;
    case "call:answered":
      if (n > 1) return;
      if (party.role === "caller") histograms.answerRoundTrip.record(at - pair.answerSentAt);
      sendCandidates(party);
      checkSettled(pair);
      return;
    case "webrtc:ice-candidate": {
      const candidate = data.candidate as { n: number; sent: number } | undefined;
      if (!candidate || party.candidates.has(candidate.n)) return;
      party.candidates.add(candidate.n);
      histograms.iceRelay.record(at - candidate.sent);
      checkSettled(pair);
      return;
    }
    case "call:ended":
      if (n > 1) return;
      if (party.role === "caller") histograms.endRoundTrip.record(at - pair.endSentAt);
      if (!pair.ended && (pair.caller.got.get("call:ended") ?? 0) > 0 && (pair.callee.got.get("call:ended") ?? 0) > 0) {
        pair.ended = true;
        counts.ended++;
      }
      return;
    case "call:missed":
      if (answering) return;
      if (n > 1) return;
      if (party.role === "callee") histograms.missedLateness.record(at - (pair.initiatedAt + ringTimeoutMs));
      if (!pair.settled && (pair.caller.got.get("call:missed") ?? 0) > 0 && (pair.callee.got.get("call:missed") ?? 0) > 0) {
        pair.settled = true;
        counts.settled++;
      }
      return;
  }
}

const CHAR_2 = 0x32;
const CHAR_3 = 0x33;
const CHAR_4 = 0x34;

function onFrame(party: Party, frame: Buffer): void {
  if (frame[0] === CHAR_2 && frame.length === 1) return void party.ws.send("3");
  if (frame[0] !== CHAR_4) return;
  const text = frame.toString();
  if (frame[1] === CHAR_2) {
    const [name, envelope] = JSON.parse(text.slice(2)) as [string, { data?: Record<string, unknown> }];
    onEvent(party, name, envelope ?? {});
  } else if (frame[1] === CHAR_3) {
    const open = text.indexOf("[");
    const id = Number(text.slice(2, open));
    const ack = pendingAcks.get(id);
    if (!ack) return;
    pendingAcks.delete(id);
    const [reply] = JSON.parse(text.slice(open)) as [{ ok: boolean; call_id?: string }];
    ack(reply);
  }
}

/** Opens `user`'s connection and resolves once it is subscribed to its `webrtc:` topic. */
async function openParty(a: CallAssignment, url: string, user: string): Promise<WebSocket> {
  const hub = a.dialect === "hub";
  const auth = hub ? { token: await userToken({ sub: user, org_id: a.org }, { expiresIn: TOKEN_LIFETIME_S }) } : { user };
  const subscribe = `42${SUBSCRIBE_ACK}${JSON.stringify(["subscribe", { topic: `webrtc:${user}` }])}`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${url}: not subscribed after ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    ws.on("error", (error) => fail(error));
    ws.on("close", () => fail(new Error(`${url}: closed during the handshake`)));
    ws.on("message", (data: Buffer) => {
      if (data[0] === CHAR_2 && data.length === 1) return void ws.send("3");
      const frame = data.toString();
      if (frame.startsWith("0")) ws.send(`40${JSON.stringify(auth)}`);
      else if (frame.startsWith("40")) ws.send(subscribe);
      else if (frame.startsWith("44")) fail(new Error(`${url}: CONNECT refused: ${frame}`));
      else if (frame.startsWith(`43${SUBSCRIBE_ACK}`)) {
        if (!frame.includes('"ok":true')) return fail(new Error(`${url}: subscribe refused: ${frame.slice(0, 300)}`));
        clearTimeout(timer);
        ws.removeAllListeners();
        resolve(ws);
      }
    });
  });
}

function party(pair: Pair, role: Role, user: string, ws: WebSocket): Party {
  const p: Party = { pair, role, user, ws, got: new Map(), candidates: new Set() };
  ws.on("message", (data: Buffer) => onFrame(p, data));
  ws.on("close", () => counts.dropped++);
  ws.on("error", () => undefined);
  return p;
}

async function start(a: CallAssignment): Promise<void> {
  assignment = a;
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const began = performance.now();
  const lane = async () => {
    while (next < a.count) {
      const index = a.firstPair + next++;
      try {
        const [callerWs, calleeWs] = await Promise.all([openParty(a, a.callerUrl, `c${index}`), openParty(a, a.calleeUrl, `e${index}`)]);
        const pair = { index, callId: undefined, initiatedAt: 0, answerSentAt: 0, endSentAt: 0, settled: false, ended: false } as Pair;
        pair.caller = party(pair, "caller", `c${index}`, callerWs);
        pair.callee = party(pair, "callee", `e${index}`, calleeWs);
        pairs.push(pair);
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, lane));
  pairs.sort((x, y) => x.index - y.index);
  send({ type: "ready", connected: pairs.length, failed, firstError, connectMs: performance.now() - began });
}

/** Calls `act(pair)` for every pair, `rate` per second; resolves with how far behind schedule it fell. */
async function paced(rate: number, act: (pair: Pair) => void): Promise<{ lagMaxMs: number; firstAt: number; lastAt: number }> {
  const began = now();
  let lagMaxMs = 0;
  let lastAt = began;
  for (let i = 0; i < pairs.length; i++) {
    const due = began + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    lastAt = now();
    lagMaxMs = Math.max(lagMaxMs, lastAt - due);
    act(pairs[i] as Pair);
  }
  return { lagMaxMs, firstAt: began, lastAt };
}

async function initiateAll(rate: number, answer: boolean, ringTimeout: number): Promise<void> {
  answering = answer;
  ringTimeoutMs = ringTimeout;
  const done = await paced(rate, (pair) => {
    pair.initiatedAt = now();
    request(pair.caller, "call:initiate", { to: pair.callee.user, media: "audio" }, (reply) => {
      histograms.initiateAck.record(now() - pair.initiatedAt);
      pair.callId ??= reply.call_id;
    });
  });
  send({ type: "initiated", ...done });
}

async function endAll(rate: number): Promise<void> {
  const done = await paced(rate, (pair) => {
    pair.endSentAt = now();
    request(pair.caller, "call:end", { call_id: pair.callId });
  });
  send({ type: "ending", lagMaxMs: done.lagMaxMs });
}

/** How many of each event each pair got against what this phase expects. */
function eventCounts(): Record<string, EventCount> {
  const a = assignment as CallAssignment;
  const expected: [Role, string, number][] = answering
    ? [
        ["callee", "call:incoming", 1],
        ["caller", "call:answered", 1],
        ["callee", "call:answered", 1],
        ["caller", "webrtc:ice-candidate", a.candidates],
        ["callee", "webrtc:ice-candidate", a.candidates],
        ["caller", "call:ended", 1],
        ["callee", "call:ended", 1],
      ]
    : [
        ["callee", "call:incoming", 1],
        ["caller", "call:missed", 1],
        ["callee", "call:missed", 1],
      ];
  const result: Record<string, EventCount> = {};
  for (const [role, name, each] of expected) {
    const c: EventCount = { expected: 0, lost: 0, duplicated: 0 };
    for (const pair of pairs) {
      const got = pair[role].got.get(name) ?? 0;
      c.expected += each;
      c.lost += Math.max(0, each - got);
      c.duplicated += Math.max(0, got - each);
    }
    result[`${role} ${name}`] = c;
  }
  // Anything else a party got (call:busy, call:missed of an answered call, ...) should not happen.
  const known = new Set(expected.map(([role, name]) => `${role} ${name}`));
  for (const pair of pairs) {
    for (const p of [pair.caller, pair.callee]) {
      for (const [name, n] of p.got) {
        const key = `${p.role} ${name}`;
        if (!known.has(key)) unexpected[key] = (unexpected[key] ?? 0) + n;
      }
    }
  }
  return result;
}

function report(): CallClientReport {
  const cpu = process.cpuUsage();
  return {
    initiateAck: histograms.initiateAck.snapshot(),
    incoming: histograms.incoming.snapshot(),
    answerRoundTrip: histograms.answerRoundTrip.snapshot(),
    iceRelay: histograms.iceRelay.snapshot(),
    endRoundTrip: histograms.endRoundTrip.snapshot(),
    missedLateness: histograms.missedLateness.snapshot(),
    events: eventCounts(),
    unexpected,
    refused: counts.refused,
    ...(firstRefusal ? { firstRefusal } : {}),
    dropped: counts.dropped,
    cpuMicros: cpu.user + cpu.system,
  };
}

process.on("message", (message: ToCallClients) => {
  switch (message.type) {
    case "start":
      void start(message.assignment);
      break;
    case "initiate":
      void initiateAll(message.rate, message.answer, message.ringTimeoutMs);
      break;
    case "end":
      void endAll(message.rate);
      break;
    case "progress": {
      const cpu = process.cpuUsage();
      send({ type: "progress", settled: counts.settled, ended: counts.ended, cpuMicros: cpu.user + cpu.system });
      break;
    }
    case "report":
      send({ type: "report", report: report() });
      break;
    case "close":
      for (const pair of pairs) {
        pair.caller.ws.removeAllListeners("close");
        pair.callee.ws.removeAllListeners("close");
        pair.caller.ws.terminate();
        pair.callee.ws.terminate();
      }
      process.disconnect();
      break;
  }
});

// The harness owns this process: if it goes away, so do we.
process.on("disconnect", () => process.exit(0));
