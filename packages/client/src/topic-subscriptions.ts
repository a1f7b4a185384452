import type { Envelope, StreamPosition, SubscribeOk, SubscribeRequest } from "@hub/events";
import { AckBatcher } from "./ack-batcher.js";
import { HubError, isTransient } from "./hub-error.js";
import { Positions, positionOf } from "./positions.js";
import { RecentIds } from "./recent-ids.js";
import type { HubEventArgs, SubscribeHandlers, SubscriptionToken } from "./types.js";

/** What the subscriptions need from the connection. */
export interface SubscriptionTransport {
  subscribe(request: SubscribeRequest): Promise<SubscribeOk>;
  /** Fire and forget: leaving a topic cannot meaningfully fail. */
  unsubscribe(topic: string): void;
  ack(topic: string, position: StreamPosition): Promise<unknown>;
}

export interface TopicSubscriptionsOptions {
  transport: SubscriptionTransport;
  /** @default 10000 */
  dedupeSize?: number;
  /** @default 200 */
  autoAckDelayMs?: number;
  /** Wait before retrying a subscribe that failed with a transient code, by attempt (0, 1, ...). */
  retryDelay?: (attempt: number) => number;
  /** An `onEvent` threw. @default rethrown in a microtask, as an EventEmitter listener's error would surface */
  onHandlerError?: (error: unknown) => void;
}

interface TopicEntry {
  readonly topic: string;
  readonly subscribers: Set<SubscribeHandlers>;
  /** Sent with every (re)subscribe: the latest subscriber's that gave one. */
  token: SubscriptionToken | undefined;
  /** The server confirmed the subscription on the current connection. */
  confirmed: boolean;
  retries: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * autoAck, in delivery order: settles once every handler of every event so far has finished. A
   * handler that failed stops automatic acks on the topic for good (acks are cumulative: a later
   * one would acknowledge the failed event too).
   */
  acked: Promise<void>;
  ackStopped: boolean;
}

const EVENTS_NOT_ON_TOPICS: ReadonlySet<string> = new Set(["error", "auth.expired", "resync", "batch"]);

/**
 * Every topic the hub is subscribed to, and what flows through them: (re)subscribing from each
 * topic's last position, dispatching envelopes once, tracking positions, automatic acks. Knows
 * nothing of sockets: the connection calls `online()` / `offline()` and `deliver()`.
 */
export class TopicSubscriptions {
  readonly #transport: SubscriptionTransport;
  readonly #entries = new Map<string, TopicEntry>();
  readonly #positions = new Positions();
  readonly #recent: RecentIds;
  readonly #acks: AckBatcher;
  readonly #retryDelay: (attempt: number) => number;
  readonly #onHandlerError: (error: unknown) => void;
  #online = false;
  /** Bumped on every connect and disconnect, so answers from an earlier connection are ignored. */
  #generation = 0;

  constructor(options: TopicSubscriptionsOptions) {
    this.#transport = options.transport;
    this.#recent = new RecentIds(options.dedupeSize ?? 10_000);
    const delayMs = options.autoAckDelayMs ?? 200;
    this.#acks = new AckBatcher({ delayMs, maxDelayMs: delayMs * 5, send: (topic, position) => this.#sendAck(topic, position) });
    this.#retryDelay = options.retryDelay ?? ((attempt) => Math.min(5_000, 250 * 2 ** attempt));
    this.#onHandlerError = options.onHandlerError ?? rethrowLater;
  }

  /** Adds a subscriber; the first one of a topic subscribes on the server. Returns its remover. */
  add(topic: string, handlers: SubscribeHandlers): () => void {
    let entry = this.#entries.get(topic);
    const subscriber = { ...handlers };
    if (entry) {
      entry.subscribers.add(subscriber);
      if (handlers.token !== undefined) entry.token = handlers.token;
      // Already confirmed on this connection: tell the newcomer as the others were told.
      if (entry.confirmed && subscriber.onSubscribed) {
        const position = this.#positions.get(topic);
        const notify = subscriber.onSubscribed;
        queueMicrotask(() => notify(position ? { topic, position } : { topic }));
      }
    } else {
      entry = {
        topic,
        subscribers: new Set([subscriber]),
        token: handlers.token,
        confirmed: false,
        retries: 0,
        retryTimer: undefined,
        acked: Promise.resolve(),
        ackStopped: false,
      };
      this.#entries.set(topic, entry);
      if (this.#online) this.#subscribe(entry);
    }
    const owner = entry;
    return () => this.#remove(owner, subscriber);
  }

  /** The last position seen on a topic. */
  position(topic: string): StreamPosition | undefined {
    return this.#positions.get(topic);
  }

  /** The subscription token a topic is subscribed with (for publications on it). */
  async token(topic: string): Promise<string | undefined> {
    const token = this.#entries.get(topic)?.token;
    return typeof token === "function" ? token() : token;
  }

  /** Every subscribed topic. */
  topics(): string[] {
    return [...this.#entries.keys()];
  }

  /** Connected: subscribe every topic, from its last position. */
  online(): void {
    this.#online = true;
    this.#generation++;
    for (const entry of this.#entries.values()) this.#subscribe(entry);
  }

  /**
   * The server took the connection off these topics (`resync`: it fell behind): subscribe each
   * again from its last position, so what was dropped is replayed from history.
   */
  resync(topics: readonly string[]): void {
    if (!this.#online) return;
    for (const topic of topics) {
      const entry = this.#entries.get(topic);
      if (!entry) continue;
      entry.confirmed = false;
      this.#subscribe(entry);
    }
  }

  /** Disconnected: the server forgot the subscriptions; they are sent again by the next `online()`. */
  offline(): void {
    this.#online = false;
    this.#generation++;
    for (const entry of this.#entries.values()) {
      entry.confirmed = false;
      clearTimeout(entry.retryTimer);
      entry.retryTimer = undefined;
    }
  }

  /** An event from the server: dispatched to its topic's subscribers unless already delivered. */
  deliver(event: string, message: unknown): void {
    if (EVENTS_NOT_ON_TOPICS.has(event) || !isEnvelope(message)) return;
    const entry = this.#entries.get(message.topic);
    if (!entry) return;
    // Per topic: one staff event fans out to several topics with the same id, one copy each.
    if (!this.#recent.add(`${message.topic}\n${message.id}`)) return;
    const position = positionOf(message);
    if (position) this.#positions.advance(message.topic, position);
    let autoAck = false;
    let failed = false;
    const running: Array<PromiseLike<unknown>> = [];
    for (const subscriber of [...entry.subscribers]) {
      autoAck ||= subscriber.autoAck === true;
      try {
        const result: unknown = subscriber.onEvent(...([event, message] as HubEventArgs));
        if (isThenable(result)) running.push(result);
      } catch (error) {
        // A throwing handler must not stop the others, nor have its event acknowledged.
        failed = true;
        this.#onHandlerError(error);
      }
    }
    if (!autoAck || !position) return;
    if (failed) entry.ackStopped = true;
    // Acknowledged once this event's handlers and every earlier event's have finished, in order.
    entry.acked = entry.acked
      .then(() => Promise.all(running))
      .then(
        () => {
          if (!entry.ackStopped && this.#entries.get(entry.topic) === entry) this.#acks.note(entry.topic, position);
        },
        (error: unknown) => {
          entry.ackStopped = true;
          this.#onHandlerError(error);
        },
      );
  }

  /** Sends pending automatic acks, clears every timer and forgets every subscription. */
  close(): void {
    this.#acks.flush();
    this.#acks.close();
    for (const entry of this.#entries.values()) clearTimeout(entry.retryTimer);
    this.#entries.clear();
    this.#online = false;
  }

  #subscribe(entry: TopicEntry): void {
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    const since = this.#positions.get(entry.topic);
    const generation = this.#generation;
    const current = () => this.#entries.get(entry.topic) === entry && this.#generation === generation;
    const token = entry.token;
    const request = (granted: string | undefined): SubscribeRequest => ({
      topic: entry.topic,
      ...(since ? { since } : {}),
      ...(granted === undefined ? {} : { token: granted }),
    });
    // A token source is asked on every (re)subscribe, so a reconnect hours later presents a fresh grant.
    const sent =
      typeof token === "function"
        ? Promise.resolve()
            .then(token)
            .then(
              (granted) => this.#transport.subscribe(request(granted)),
              (error: unknown) => {
                const why = error instanceof Error ? error.message : String(error);
                throw new HubError("unavailable", `the subscription token source failed: ${why}`, { cause: error });
              },
            )
        : this.#transport.subscribe(request(token));
    sent.then(
      (ok) => {
        if (!current()) return;
        entry.confirmed = true;
        entry.retries = 0;
        const reached = positionOf(ok);
        if (reached) this.#positions.advance(entry.topic, reached);
        const position = this.#positions.get(entry.topic);
        for (const subscriber of [...entry.subscribers]) {
          if (since && ok.recovered === false) subscriber.onRecoveryFailed?.(entry.topic);
          subscriber.onSubscribed?.({
            topic: entry.topic,
            ...(ok.recovered === undefined ? {} : { recovered: ok.recovered }),
            ...(position ? { position } : {}),
          });
        }
      },
      (error: unknown) => {
        if (!current()) return;
        const failure = error instanceof HubError ? error : new HubError("internal", String(error));
        for (const subscriber of [...entry.subscribers]) subscriber.onError?.(failure);
        if (isTransient(failure.code)) {
          entry.retryTimer = setTimeout(
            () => {
              if (current()) this.#subscribe(entry);
            },
            this.#retryDelay(entry.retries++),
          );
        } else {
          this.#drop(entry);
        }
      },
    );
  }

  #remove(entry: TopicEntry, subscriber: SubscribeHandlers): void {
    if (!entry.subscribers.delete(subscriber) || entry.subscribers.size > 0) return;
    if (this.#entries.get(entry.topic) !== entry) return;
    // What was processed stays acknowledged.
    this.#acks.flush(entry.topic);
    this.#drop(entry);
    if (this.#online) this.#transport.unsubscribe(entry.topic);
  }

  #drop(entry: TopicEntry): void {
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    entry.subscribers.clear();
    this.#entries.delete(entry.topic);
    this.#positions.delete(entry.topic);
  }

  #sendAck(topic: string, position: StreamPosition): void {
    this.#transport.ack(topic, position).catch((error: unknown) => {
      const entry = this.#entries.get(topic);
      if (!entry) return;
      const failure = error instanceof HubError ? error : new HubError("internal", String(error));
      for (const subscriber of [...entry.subscribers]) subscriber.onError?.(failure);
    });
  }
}

function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

function isEnvelope(value: unknown): value is Envelope {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { topic?: unknown }).topic === "string" &&
    typeof (value as { id?: unknown }).id === "string"
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
