import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { HubProcess } from "@hub/devkit";
import { LatencyHistogram, type LatencySummary } from "./latency-histogram.js";
import type { ChatAssignment, ChatClientReport, FromChatClients, ToChatClients } from "./load/chat-messages.js";
import { askChild, closeChild, forkScript } from "./load/child-ipc.js";
import { now } from "./pacing.js";
import { processCpuMicros } from "./process-cpu.js";
import { type StreamLag, StreamLagReader } from "./stream-lag.js";
import { BENCH_ORG, spawnBaselines, spawnGateways } from "./systems.js";

export interface ChatParams {
  conversations: number;
  /** Members of each conversation, each connected once; user i is on gateway i % nodes. */
  usersPerConversation: number;
  /** Server processes. */
  nodes: number;
  /** Measured window: every user sends one message per second (and one `typing:start`). */
  seconds: number;
  /** The same load before the window, unmeasured. */
  warmupSeconds: number;
  /** Measured with every user connected and nothing sent: what holding the connections costs. */
  idleSeconds: number;
  /** Bytes of each message's `text`. */
  textBytes: number;
  /** Client processes the users are spread over. */
  clientProcesses: number;
  drainMs: number;
}

export const CHAT_QUICK: ChatParams = {
  conversations: 100,
  usersPerConversation: 5,
  nodes: 2,
  seconds: 10,
  warmupSeconds: 2,
  idleSeconds: 1,
  textBytes: 100,
  clientProcesses: 2,
  drainMs: 10_000,
};
export const CHAT_FULL: ChatParams = {
  ...CHAT_QUICK,
  conversations: 1_000,
  seconds: 30,
  warmupSeconds: 5,
  idleSeconds: 5,
  clientProcesses: 4,
  drainMs: 20_000,
};

/** The hub against plain Socket.IO relaying the same events (raw has no rooms). */
export const CHAT_SYSTEMS = ["hub", "plain"] as const;
export type ChatSystem = (typeof CHAT_SYSTEMS)[number];

export interface ChatResult {
  system: ChatSystem;
  params: ChatParams;
  connected: number;
  connectFailures: number;
  connectError?: string;
  connectMs: number;
  /** `message:send` made in the window. */
  messagesSent: number;
  typingSent: number;
  /** messagesSent × (usersPerConversation - 1): each message to every other member. */
  expected: number;
  /** `message:new` deliveries to members other than the sender: the count CPU is divided by, for both systems. */
  received: number;
  losses: number;
  /** Copies of their own messages senders got back (hub: durable events go to the sender's sockets too; plain: none). */
  ownCopies: number;
  typingReceived: number;
  publishFailures: number;
  publishError?: string;
  droppedConnections: number;
  /** Deliveries to other members per second over the window. */
  deliveriesPerSecond: number;
  /** Sender's send time to another member's receipt. */
  latencyMs: LatencySummary;
  /** Furthest any client process fell behind its send schedule. */
  sendLagMaxMs: number;
  windowSeconds: number;
  /** Each server process's CPU over the window. */
  serverCpuMicros: number[];
  /** Each server process's CPU per second with everyone connected and nothing sent. */
  idleCpuMicrosPerSecond: number[];
  /** All server processes' CPU over the window / `received`. */
  serverCpuMicrosPerDelivery: number;
  /** The same after subtracting the idle rate over the window. */
  netServerCpuMicrosPerDelivery: number;
  /** All server processes' CPU / every frame delivered (to others, own copies and typing). */
  serverCpuMicrosPerFrame: number;
  serverCoresBusy: number;
  redisCpuMicrosPerMessage: number;
  clientCoresBusy: number;
  /** The hub's backend consumer on the `chat` client-event streams. */
  streamLag?: StreamLag;
}

const CLIENTS = fileURLToPath(new URL("./load/chat-clients.ts", import.meta.url));
const PLAIN_CHAT_SERVER = "bench/harness/src/servers/plain-chat-server.ts";

/** Conversations of a few users over 2 gateways, each user sending one message per second to its conversation. */
export async function runChat(system: ChatSystem, params: ChatParams, redis: { url: string; pid: number }): Promise<ChatResult> {
  const env = { REDIS_URL: redis.url };
  const servers = system === "hub" ? await spawnGateways(params.nodes, env) : await spawnBaselines(PLAIN_CHAT_SERVER, params.nodes, env);
  const reader = system === "hub" ? await StreamLagReader.start(redis.url, "chat") : undefined;
  const clients: ChildProcess[] = [];
  try {
    const urls = servers.map((s) => `ws://127.0.0.1:${s.port}/socket.io/?EIO=4&transport=websocket`);
    const serverPids = servers.map((s) => s.process.child.pid as number);
    const users = params.conversations * params.usersPerConversation;
    let firstUser = 0;
    const assignments = Array.from({ length: params.clientProcesses }, (_, p): ChatAssignment => {
      const count = Math.floor(users / params.clientProcesses) + (p < users % params.clientProcesses ? 1 : 0);
      firstUser += count;
      return {
        dialect: system,
        urls,
        firstUser: firstUser - count,
        count,
        usersPerConversation: params.usersPerConversation,
        org: BENCH_ORG,
        concurrency: 50,
        textBytes: params.textBytes,
      };
    });
    for (const _ of assignments) clients.push(forkScript(CLIENTS));
    const ready = await Promise.all(
      clients.map((c, i) => reply(c, "ready", { type: "start", assignment: assignments[i] as ChatAssignment }, 180_000)),
    );
    const connected = ready.reduce((n, r) => n + r.connected, 0);
    const connectError = ready.find((r) => r.firstError)?.firstError;

    const others = params.usersPerConversation - 1;
    const warmup = await sendAll(clients, params.warmupSeconds, false);
    await waitFor(clients, (p) => p.warmup >= warmup.messages * others, params.drainMs);
    await sleep(500);

    const idleBefore = serverPids.map(processCpuMicros);
    await sleep(params.idleSeconds * 1000);
    const idle = serverPids.map((pid, i) => (processCpuMicros(pid) - (idleBefore[i] ?? 0)) / params.idleSeconds);

    await Promise.all(clients.map((c) => reply(c, "reset-done", { type: "reset" })));
    reader?.reset();
    const pids = [...serverPids, redis.pid];
    const cpuBefore = pids.map(processCpuMicros);
    const clientBefore = sum(await Promise.all(clients.map((c) => reply(c, "progress", { type: "progress" }))), (p) => p.cpuMicros);
    const windowStart = now();
    const sent = await sendAll(clients, params.seconds, true);
    await waitFor(clients, (p) => p.received >= sent.messages * others, params.drainMs);
    const windowEnd = now();
    const cpu = pids.map(processCpuMicros).map((after, i) => after - (cpuBefore[i] ?? 0));
    const reports = (await Promise.all(clients.map((c) => reply(c, "report", { type: "report" })))).map((r) => r.report);
    const streamLag = await reader?.stop();

    const total = (pick: (r: ChatClientReport) => number) => sum(reports, pick);
    const received = total((r) => r.received);
    const ownCopies = total((r) => r.ownCopies);
    const typingReceived = total((r) => r.typingReceived);
    const windowSeconds = (windowEnd - windowStart) / 1000;
    const serverCpu = cpu.slice(0, serverPids.length);
    const allServers = sum(serverCpu, (c) => c);
    const publishError = reports.find((r) => r.firstPublishError)?.firstPublishError;
    return {
      system,
      params,
      connected,
      connectFailures: ready.reduce((n, r) => n + r.failed, 0),
      ...(connectError ? { connectError } : {}),
      connectMs: Math.max(...ready.map((r) => r.connectMs)),
      messagesSent: sent.messages,
      typingSent: sent.typing,
      expected: sent.messages * others,
      received,
      losses: sent.messages * others - received,
      ownCopies,
      typingReceived,
      publishFailures: total((r) => r.publishFailures),
      ...(publishError ? { publishError } : {}),
      droppedConnections: total((r) => r.dropped),
      deliveriesPerSecond: received / windowSeconds,
      latencyMs: LatencyHistogram.summarize(LatencyHistogram.merge(reports.map((r) => r.latency))),
      sendLagMaxMs: sent.lagMaxMs,
      windowSeconds,
      serverCpuMicros: serverCpu,
      idleCpuMicrosPerSecond: idle,
      serverCpuMicrosPerDelivery: allServers / received,
      netServerCpuMicrosPerDelivery: (allServers - sum(idle, (c) => c) * windowSeconds) / received,
      serverCpuMicrosPerFrame: allServers / (received + ownCopies + typingReceived),
      serverCoresBusy: allServers / 1e6 / windowSeconds,
      redisCpuMicrosPerMessage: (cpu[serverPids.length] ?? 0) / sent.messages,
      clientCoresBusy: (total((r) => r.cpuMicros) - clientBefore) / 1e6 / windowSeconds,
      ...(streamLag ? { streamLag } : {}),
    };
  } finally {
    if (reader) await reader.stop().catch(() => undefined);
    await Promise.all(clients.map((c) => closeChild(c)));
    await stopServers(servers.map((s) => s.process));
  }
}

/** Every client process sends for `seconds`; resolves with what they sent once all are done. */
async function sendAll(
  clients: ChildProcess[],
  seconds: number,
  measured: boolean,
): Promise<{ messages: number; typing: number; lagMaxMs: number }> {
  const done = await Promise.all(clients.map((c) => reply(c, "sent", { type: "send", seconds, measured }, (seconds + 60) * 1000)));
  return { messages: sum(done, (d) => d.messages), typing: sum(done, (d) => d.typing), lagMaxMs: Math.max(...done.map((d) => d.lagMaxMs)) };
}

/** Polls the client processes until `done` holds for their summed progress or `timeoutMs` passes. */
async function waitFor(clients: ChildProcess[], done: (p: { received: number; warmup: number }) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await Promise.all(clients.map((c) => reply(c, "progress", { type: "progress" })));
    const total = { received: sum(progress, (p) => p.received), warmup: sum(progress, (p) => p.warmup) };
    if (done(total) || Date.now() >= deadline) return;
    await sleep(100);
  }
}

/** Sends `message` and waits for the child's reply of type `type`. */
function reply<T extends FromChatClients["type"]>(
  child: ChildProcess,
  type: T,
  message: ToChatClients,
  timeoutMs = 60_000,
): Promise<Extract<FromChatClients, { type: T }>> {
  return askChild<FromChatClients>(child, message, (r) => r.type === type, timeoutMs) as Promise<Extract<FromChatClients, { type: T }>>;
}

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  return items.reduce((n, item) => n + pick(item), 0);
}

async function stopServers(servers: HubProcess[]): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      const timer = setTimeout(() => void s.kill(), 10_000);
      await s.stop();
      clearTimeout(timer);
    }),
  );
}
