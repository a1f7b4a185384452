// A child process with one real socket.io-client per org, subscribed to `inhouse:{org}` with a
// service token: it records each queue's check-in deadline (from the `queue_updated` that entered
// check-in) and when its `check_in_expired` arrived, and counts `queue_updated` events.
import { performance } from "node:perf_hooks";
import { connectClient, type HubClient, request } from "@hub/devkit";

export interface ObserverAssignment {
  url: string;
  token: string;
  orgs: string[];
}

export interface ObserverProgress {
  updates: number;
  /** Receipt time of the last `queue_updated`, epoch ms. */
  lastUpdateAt: number;
  /** `queue_updated` events showing a queue in check-in (the deadline phase's joins and check-ins). */
  checkInUpdates: number;
  lastCheckInUpdateAt: number;
  expired: number;
}

export interface ObserverReport extends ObserverProgress {
  /** `org/queue` -> the deadline of the queue's check-in round (epoch ms, set by the worker). */
  deadlines: Array<[string, number]>;
  /** `org/queue` and the receipt time of each `check_in_expired`, epoch ms (a queue twice = a duplicate). */
  expirations: Array<[string, number]>;
}

export type ToObserver = { type: "start"; assignment: ObserverAssignment } | { type: "progress" } | { type: "report" } | { type: "close" };
export type FromObserver =
  | { type: "ready" }
  | { type: "failed"; error: string }
  | { type: "progress"; progress: ObserverProgress }
  | { type: "report"; report: ObserverReport };

interface QueueBody {
  queue?: { id?: string; org_id?: string; status?: string; check_in_deadline?: number | null };
}

const sockets: HubClient[] = [];
const deadlines = new Map<string, number>();
const expirations: Array<[string, number]> = [];
let updates = 0;
let lastUpdateAt = 0;
let checkInUpdates = 0;
let lastCheckInUpdateAt = 0;
const progress = (): ObserverProgress => ({ updates, lastUpdateAt, checkInUpdates, lastCheckInUpdateAt, expired: expirations.length });

const send = (message: FromObserver) => process.send?.(message);
const at = () => performance.timeOrigin + performance.now();
const keyOf = (q: NonNullable<QueueBody["queue"]>) => `${q.org_id}/${q.id}`;

async function start(assignment: ObserverAssignment): Promise<void> {
  try {
    for (const org of assignment.orgs) {
      const socket = await connectClient(assignment.url, assignment.token);
      sockets.push(socket);
      const on = (socket as unknown as { on(event: string, fn: (msg: { data?: QueueBody }) => void): void }).on.bind(socket);
      on("queue_updated", (msg) => {
        updates++;
        lastUpdateAt = at();
        const q = msg.data?.queue;
        if (q?.status !== "check_in") return;
        checkInUpdates++;
        lastCheckInUpdateAt = lastUpdateAt;
        if (typeof q.check_in_deadline === "number" && !deadlines.has(keyOf(q))) deadlines.set(keyOf(q), q.check_in_deadline);
      });
      on("check_in_expired", (msg) => {
        const received = at();
        const q = msg.data?.queue;
        if (q) expirations.push([keyOf(q), received]);
      });
      const ack = await request<{ ok?: boolean }>(socket, "subscribe", { topic: `inhouse:${org}` });
      if (ack?.ok !== true) throw new Error(`subscribe to inhouse:${org} refused: ${JSON.stringify(ack)}`);
    }
    send({ type: "ready" });
  } catch (error) {
    send({ type: "failed", error: (error as Error).message });
  }
}

process.on("message", (message: ToObserver) => {
  switch (message.type) {
    case "start":
      void start(message.assignment);
      break;
    case "progress":
      send({ type: "progress", progress: progress() });
      break;
    case "report":
      send({ type: "report", report: { ...progress(), deadlines: [...deadlines], expirations } });
      break;
    case "close":
      for (const socket of sockets) socket.close();
      process.disconnect();
      break;
  }
});

process.on("disconnect", () => process.exit(0));
