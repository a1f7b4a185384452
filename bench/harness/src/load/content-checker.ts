// A child process with a handful of real clients (socket.io-client through @hub/devkit; `ws` with
// full JSON parsing for the raw baseline) that keep every measured message whole, so the harness can
// compare each one with what was published. The wire clients of the fleet only read two numbers.
import { performance } from "node:perf_hooks";
import { connectClient, type HubClient, request } from "@hub/devkit";
import WebSocket from "ws";
import type { CheckerAssignment, CheckerMessage, FromChecker, ToChecker } from "./checker-messages.js";

/** Per client: every message whose sequence number is in range, in arrival order. */
const received: CheckerMessage[][] = [];
const closers: Array<() => void> = [];
/** Stops recording past this many messages per client (a runaway producer must not fill memory). */
const CAP = 20_000;

function send(message: FromChecker): void {
  process.send?.(message);
}

const at = () => performance.timeOrigin + performance.now();

/** The sequence number the harness put in the payload, wherever the system puts the payload. */
function seqOf(body: unknown): number | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const payload = (typeof record.data === "object" && record.data !== null ? record.data : record) as Record<string, unknown>;
  return typeof payload.bench_seq === "number" ? payload.bench_seq : undefined;
}

async function openSocketIo(assignment: CheckerAssignment, url: string, log: CheckerMessage[]): Promise<void> {
  const socket: HubClient = await connectClient(url, assignment.token, assignment.token ? {} : { auth: {} });
  closers.push(() => socket.close());
  (socket as unknown as { onAny(fn: (event: string, ...args: unknown[]) => void): void }).onAny((event, ...args) => {
    const seq = seqOf(args[0]);
    if (seq === undefined || seq < assignment.minSeq || log.length >= CAP) return;
    log.push({ event, body: args[0], args: args.length, at: at() });
  });
  const ack = await request<{ ok?: boolean }>(socket, "subscribe", { topic: assignment.topic });
  if (ack?.ok !== true) throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
}

function openRaw(assignment: CheckerAssignment, url: string, log: CheckerMessage[]): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  closers.push(() => ws.terminate());
  ws.on("message", (data: Buffer) => {
    let body: unknown;
    try {
      body = JSON.parse(data.toString());
    } catch {
      body = data.toString();
    }
    const seq = seqOf(body);
    if (seq === undefined || seq < assignment.minSeq || log.length >= CAP) return;
    log.push({ event: "message", body, args: 1, at: at() });
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
}

async function start(assignment: CheckerAssignment): Promise<void> {
  try {
    await Promise.all(
      Array.from({ length: assignment.clients }, (_, i) => {
        const log: CheckerMessage[] = [];
        received.push(log);
        const url = assignment.urls[i % assignment.urls.length] as string;
        return assignment.kind === "raw" ? openRaw(assignment, url, log) : openSocketIo(assignment, url, log);
      }),
    );
    send({ type: "ready" });
  } catch (error) {
    send({ type: "failed", error: (error as Error).message });
  }
}

process.on("message", (message: ToChecker) => {
  switch (message.type) {
    case "start":
      void start(message.assignment);
      break;
    case "collect":
      send({ type: "collected", received });
      break;
    case "close":
      for (const close of closers) close();
      process.disconnect();
      break;
  }
});

process.on("disconnect", () => process.exit(0));
