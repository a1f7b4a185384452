// A client process of the chat scenario: opens its share of users, each subscribed to its
// conversation; on "send" every user sends one message per second (and a typing indicator half a
// second before each), and every user counts what the other members sent.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { subscriptionToken, userToken } from "@hub/devkit";
import WebSocket from "ws";
import { LatencyHistogram } from "../latency-histogram.js";
import type { ChatAssignment, ChatClientReport, FromChatClients, ToChatClients } from "./chat-messages.js";

const HANDSHAKE_TIMEOUT_MS = 30_000;
const TOKEN_LIFETIME_S = 24 * 3600;
const SUBSCRIBE_ACK = 1;
const now = () => performance.timeOrigin + performance.now();

interface User {
  index: number;
  ws: WebSocket;
  topic: string;
  /** The subscription token (hub), sent with each publication. */
  grant: string | undefined;
}

const users: User[] = [];
let assignment: ChatAssignment | undefined;
let text = "";
let nextAck = SUBSCRIBE_ACK + 1;
let sendSeq = 0;
let warmupSeq = -1;

const latency = new LatencyHistogram();
const counts = { sent: 0, typingSent: 0, received: 0, warmup: 0, ownCopies: 0, typingReceived: 0, publishFailures: 0, dropped: 0 };
let firstPublishError: string | undefined;

function send(message: FromChatClients): void {
  process.send?.(message);
}

const FROM = Buffer.from('"bench_from":');
const SEQ = Buffer.from('"bench_seq":');
const SENT = Buffer.from('"bench_sent":');
const MESSAGE_NEW = Buffer.from('42["message:new"');
const TYPING = Buffer.from('42["typing:start"');
const OK_FALSE = Buffer.from('"ok":false');

function numberAfter(frame: Buffer, key: Buffer): number {
  const at = frame.indexOf(key);
  return at < 0 ? Number.NaN : Number.parseFloat(frame.toString("latin1", at + key.length, at + key.length + 32));
}

/** Counts one `message:new` frame received by user `self`, reading only the bench fields. */
function recordMessage(frame: Buffer, self: number): void {
  const at = now();
  const from = numberAfter(frame, FROM);
  const seq = numberAfter(frame, SEQ);
  const sent = numberAfter(frame, SENT);
  if (!Number.isFinite(from) || !Number.isFinite(seq) || !Number.isFinite(sent)) return;
  if (seq < 0) {
    counts.warmup++;
    return;
  }
  if (from === self) {
    counts.ownCopies++;
    return;
  }
  counts.received++;
  latency.record(at - sent);
}

function onFrame(user: User, frame: Buffer): void {
  if (frame[0] === 0x34 && frame[1] === 0x32) {
    if (frame.subarray(0, MESSAGE_NEW.length).equals(MESSAGE_NEW)) recordMessage(frame, user.index);
    else if (frame.subarray(0, TYPING.length).equals(TYPING)) counts.typingReceived++;
    return;
  }
  if (frame[0] === 0x34 && frame[1] === 0x33 && frame.indexOf(OK_FALSE) >= 0) {
    counts.publishFailures++;
    firstPublishError ??= frame.toString("utf8", 0, 300);
    return;
  }
  if (frame[0] === 0x32 && frame.length === 1) user.ws.send("3");
}

/** Opens user `index`'s connection and resolves once it is subscribed to its conversation. */
async function openUser(a: ChatAssignment, index: number): Promise<User> {
  const url = a.urls[index % a.urls.length] as string;
  const topic = `chat:c${Math.floor(index / a.usersPerConversation)}`;
  const sub = `u${index}`;
  const hub = a.dialect === "hub";
  const token = hub ? await userToken({ sub, org_id: a.org }, { expiresIn: TOKEN_LIFETIME_S }) : undefined;
  const grant = hub ? await subscriptionToken({ sub, topic, org_id: a.org, pub: true }, { expiresIn: TOKEN_LIFETIME_S }) : undefined;
  const subscribe = `42${SUBSCRIBE_ACK}${JSON.stringify(["subscribe", grant ? { topic, token: grant } : { topic }])}`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const user: User = { index, ws, topic, grant };
  return new Promise((resolve, reject) => {
    let ready = false;
    const fail = (error: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${url}: not subscribed after ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    ws.on("error", (error) => {
      if (!ready) fail(error);
    });
    ws.on("close", () => {
      if (ready) counts.dropped++;
      else fail(new Error(`${url}: closed during the handshake`));
    });
    ws.on("message", (data: Buffer) => {
      if (ready) return onFrame(user, data);
      if (data[0] === 0x32 && data.length === 1) return void ws.send("3");
      const frame = data.toString();
      if (frame.startsWith("0")) ws.send(token ? `40${JSON.stringify({ token })}` : "40");
      else if (frame.startsWith("40")) ws.send(subscribe);
      else if (frame.startsWith("44")) fail(new Error(`${url}: CONNECT refused: ${frame}`));
      else if (frame.startsWith(`43${SUBSCRIBE_ACK}`)) {
        if (frame.includes('"ok":true')) {
          ready = true;
          clearTimeout(timer);
          resolve(user);
        } else if (frame.includes('"code":"unavailable"')) ws.send(subscribe);
        else fail(new Error(`${url}: subscribe refused: ${frame.slice(0, 300)}`));
      }
    });
  });
}

async function start(a: ChatAssignment): Promise<void> {
  assignment = a;
  text = "lorem ipsum dolor sit amet ".repeat(Math.ceil(a.textBytes / 27)).slice(0, a.textBytes);
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const began = performance.now();
  const lane = async () => {
    while (next < a.count) {
      const index = a.firstUser + next++;
      try {
        users.push(await openUser(a, index));
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, lane));
  // Connection order is not user order; the send loop goes round the users in index order.
  users.sort((x, y) => x.index - y.index);
  send({ type: "ready", connected: users.length, failed, firstError, connectMs: performance.now() - began });
}

/** One `message:send` of `user`: the hub's `publish` request with an ack, or plain's event. */
function sendMessage(user: User, seq: number): void {
  const data = { text, metadata: { bench_from: user.index, bench_seq: seq, bench_sent: now() } };
  if (assignment?.dialect === "hub") {
    user.ws.send(`42${nextAck++}${JSON.stringify(["publish", { topic: user.topic, event: "message:send", data, token: user.grant }])}`);
  } else {
    user.ws.send(`42${JSON.stringify(["message:send", data])}`);
  }
}

function sendTyping(user: User): void {
  if (assignment?.dialect === "hub") {
    user.ws.send(`42${nextAck++}${JSON.stringify(["publish", { topic: user.topic, event: "typing:start", data: {}, token: user.grant }])}`);
  } else {
    user.ws.send(`42${JSON.stringify(["typing:start", {}])}`);
  }
}

/**
 * Every user sends one message per second for `seconds`, the users one after another at an even
 * pace (N users: one message every 1/N s), and each message's user's counterpart half-way round the
 * circle sends `typing:start`, half a second before its own message.
 */
async function sendFor(seconds: number, measured: boolean): Promise<void> {
  const n = users.length;
  const total = n * seconds;
  const began = now();
  let done = 0;
  let typing = 0;
  let lagMaxMs = 0;
  while (done < total) {
    const elapsed = now() - began;
    const due = Math.min(total, Math.floor((elapsed * n) / 1000) + 1);
    if (due > done) lagMaxMs = Math.max(lagMaxMs, elapsed - (done * 1000) / n);
    for (; done < due; done++) {
      const user = users[done % n] as User;
      sendMessage(user, measured ? sendSeq++ : warmupSeq--);
      sendTyping(users[(done + Math.floor(n / 2)) % n] as User);
      typing++;
    }
    await sleep(Math.max(1, ((done * 1000) / n - (now() - began)) | 0));
  }
  if (measured) {
    counts.sent += done;
    counts.typingSent += typing;
  }
  send({ type: "sent", messages: done, typing, lagMaxMs });
}

function report(): ChatClientReport {
  const cpu = process.cpuUsage();
  return {
    ...counts,
    ...(firstPublishError ? { firstPublishError } : {}),
    latency: latency.snapshot(),
    cpuMicros: cpu.user + cpu.system,
  };
}

process.on("message", (message: ToChatClients) => {
  switch (message.type) {
    case "start":
      void start(message.assignment);
      break;
    case "send":
      void sendFor(message.seconds, message.measured);
      break;
    case "progress": {
      const cpu = process.cpuUsage();
      send({ type: "progress", received: counts.received, warmup: counts.warmup, cpuMicros: cpu.user + cpu.system });
      break;
    }
    case "reset":
      for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] = 0;
      firstPublishError = undefined;
      latency.reset();
      send({ type: "reset-done" });
      break;
    case "report":
      send({ type: "report", report: report() });
      break;
    case "close":
      for (const user of users) user.ws.terminate();
      process.disconnect();
      break;
  }
});

// The harness owns this process: if it goes away, so do we.
process.on("disconnect", () => process.exit(0));
