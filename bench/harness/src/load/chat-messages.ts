import type { HistogramSnapshot } from "../latency-histogram.js";

/** Which server a chat client talks to: the hub's publish/subscribe requests, or plain Socket.IO events. */
export type ChatDialect = "hub" | "plain";

/** The users one chat client process runs: user i is member of conversation floor(i / usersPerConversation). */
export interface ChatAssignment {
  dialect: ChatDialect;
  /** WebSocket URLs; user i connects to urls[i % urls.length], so a conversation's members are on every gateway. */
  urls: string[];
  firstUser: number;
  count: number;
  usersPerConversation: number;
  /** Org of the users' tokens (hub). */
  org: string;
  /** Handshakes in flight at once. */
  concurrency: number;
  /** Bytes of `text` in each message. */
  textBytes: number;
}

export type ToChatClients =
  | { type: "start"; assignment: ChatAssignment }
  /** Each user sends one message per second for `seconds` (and a `typing:start` half a second before each); `measured` marks the window. */
  | { type: "send"; seconds: number; measured: boolean }
  | { type: "progress" }
  | { type: "reset" }
  | { type: "report" }
  | { type: "close" };

/** What one chat client process counted since the last reset. */
export interface ChatClientReport {
  /** `message:send` publications made in the measured window. */
  sent: number;
  typingSent: number;
  /** Measured `message:new` deliveries to members other than the sender. */
  received: number;
  /** Measured `message:new` copies the sender got back of its own message (the hub delivers durable events to the sender too). */
  ownCopies: number;
  /** `typing:start` deliveries since the reset (never to the sender). */
  typingReceived: number;
  /** Publications the hub refused (`ok: false` acks). */
  publishFailures: number;
  firstPublishError?: string;
  /** Connections closed after they were subscribed. */
  dropped: number;
  /** Latency of measured deliveries to other members: receipt minus the sender's send time. */
  latency: HistogramSnapshot;
  cpuMicros: number;
}

export type FromChatClients =
  | { type: "ready"; connected: number; failed: number; firstError: string | undefined; connectMs: number }
  | { type: "sent"; messages: number; typing: number; lagMaxMs: number }
  | { type: "progress"; received: number; warmup: number; cpuMicros: number }
  | { type: "report"; report: ChatClientReport }
  | { type: "reset-done" };
