import { type AckRequest, BATCH_EVENT, type PresenceMember, type PublishOk } from "@hub/events";
import { io } from "socket.io-client";
import { Calls } from "./calls.js";
import { HubError, isTransient } from "./hub-error.js";
import { Huddles } from "./huddles.js";
import { Publications } from "./publications.js";
import { type HubSocket, type PayloadOf, type ReplyOf, type RequestName, request } from "./request.js";
import { Retrier } from "./retrier.js";
import { refreshDelay, tokenExpiry, tokenSubject } from "./token-expiry.js";
import { TopicSubscriptions } from "./topic-subscriptions.js";
import type { ConnectHubOptions, GetToken, Hub, HubConnectionEvents, PublishOptions, SubscribeHandlers } from "./types.js";
import { ThrottledTyping, type TypingIndicator, type TypingOptions } from "./typing-indicator.js";

type Listener = (...args: never[]) => void;
type Timer = ReturnType<typeof setTimeout>;

/** The longest delay setTimeout takes (browsers and Node fire at once past it). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Connects to a hub and returns at once; subscriptions made before the connection is up are sent
 * when it is, and again (from each topic's last position) after every reconnect.
 *
 * @example
 * const hub = connectHub({ url: "https://hub.example.com", getToken: () => fetchHubToken() });
 * const stop = hub.subscribe("org:42", {
 *   onEvent: (event, envelope) => console.log(event, envelope.data),
 *   onRecoveryFailed: () => reloadFromBackend(),
 * });
 * // A conversation: subscribe with the grant your backend gave, then publish and show who types.
 * hub.subscribe("chat:c1", { token: chatToken, onEvent: (event, e) => event === "message:new" && show(e.sender_id, e.data.text) });
 * const typing = hub.typing("chat:c1");
 * input.oninput = () => typing.start();
 * await hub.publish("chat:c1", "message:send", { text: "hi" });
 */
export function connectHub(options: ConnectHubOptions): Hub {
  return new HubConnection(options);
}

class HubConnection implements Hub {
  readonly #socket: HubSocket;
  readonly #getToken: GetToken;
  /** A token source can give fresh tokens: refresh before expiry, retry refused handshakes. */
  readonly #refreshable: boolean;
  readonly #timeoutMs: number;
  readonly #refreshLeadMs: number;
  /** Batch frames negotiated at the handshake (`auth.coalesce`). */
  readonly #coalesce: boolean;
  readonly #reconnectDelay: { base: number; max: number };
  readonly #subscriptions: TopicSubscriptions;
  readonly #publications: Publications;
  readonly #typing = new Set<ThrottledTyping>();
  readonly #listeners = new Map<keyof HubConnectionEvents, Set<Listener>>();
  #waiters: Array<{ resolve(): void; reject(error: HubError): void }> = [];
  #closed = false;
  #everConnected = false;
  /** The token of the current connection (from its handshake or its last refresh). */
  #token: string | undefined;
  /** Why the last `getToken` for a handshake failed, if it did. */
  #tokenFailure: unknown;
  /** Bumped on every connect, so a refresh started on an earlier connection changes nothing. */
  #connection = 0;
  #refreshTimer: Timer | undefined;
  #reconnectTimer: Timer | undefined;
  #reconnectAttempts = 0;
  /** The server said the token expired: the disconnect that follows is answered at once. */
  #expired = false;

  readonly #retrier: Retrier;
  readonly #userId: string | undefined;
  readonly calls: Calls;
  readonly huddles: Huddles;

  readonly inhouse = {
    join: (queueId: string) => this.#inhouse("inhouse.join", queueId),
    leave: (queueId: string) => this.#inhouse("inhouse.leave", queueId),
    checkIn: (queueId: string) => this.#inhouse("inhouse.check_in", queueId),
  };

  constructor(options: ConnectHubOptions) {
    const { url, socketOptions = {} } = options;
    if (typeof options.getToken === "function") {
      this.#getToken = options.getToken;
      this.#refreshable = true;
    } else {
      const token = options.token;
      this.#getToken = () => token as string;
      this.#refreshable = false;
    }
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#refreshLeadMs = options.refreshLeadMs ?? 30_000;
    this.#coalesce = options.coalesce ?? true;
    this.#reconnectDelay = { base: socketOptions.reconnectionDelay ?? 1_000, max: socketOptions.reconnectionDelayMax ?? 5_000 };
    this.#subscriptions = new TopicSubscriptions({
      ...(options.dedupeSize === undefined ? {} : { dedupeSize: options.dedupeSize }),
      ...(options.autoAckDelayMs === undefined ? {} : { autoAckDelayMs: options.autoAckDelayMs }),
      transport: {
        subscribe: (req) => this.#request("subscribe", req),
        unsubscribe: (topic) => {
          this.#request("unsubscribe", { topic }).catch(() => {});
        },
        ack: (topic, position) => this.#sendAck(topic, position.offset, position.epoch),
      },
    });

    this.#publications = new Publications({
      timeoutMs: publishTimeout(options.publishTimeoutMs),
      attemptTimeoutMs: this.#timeoutMs,
      transport: {
        connected: () => this.#socket.connected,
        // The topic's token is asked for on each attempt: a token source that failed once (its
        // backend answered 503) is `unavailable`, retried like the publication itself.
        send: async (req, timeoutMs) => {
          if (this.#closed) throw new HubError("closed", "the hub is closed");
          const token = req.token ?? (await this.#topicToken(req.topic));
          return request(this.#socket, "publish", token === undefined ? req : { ...req, token }, timeoutMs);
        },
      },
    });

    this.#userId = options.userId;
    this.#retrier = new Retrier({ timeoutMs: publishTimeout(options.publishTimeoutMs) });
    const own = {
      subscribe: (topic: string, handlers: SubscribeHandlers) => this.subscribe(topic, handlers),
      userId: () => this.#userId ?? (this.#token === undefined ? undefined : tokenSubject(this.#token)),
      onError: (error: HubError) => this.#emit("error", error),
    };
    this.calls = new Calls({ ...own, request: (event, payload) => this.#request(event, payload) }, this.#retrier);
    this.huddles = new Huddles(
      { ...own, request: (event, payload) => this.#request(event, payload), connection: () => this.#connection },
      this.#retrier,
    );

    // The callback form runs on every handshake, so each reconnect presents a fresh token.
    this.#socket = io(url, { forceNew: true, ...socketOptions, auth: (cb) => this.#authenticate(cb) });
    this.#socket.on("connect", () => this.#onConnect());
    this.#socket.on("disconnect", (reason) => this.#onDisconnect(reason));
    this.#socket.on("connect_error", (error) => this.#onConnectError(error));
    this.#socket.on("error", (body) => this.#emit("error", HubError.fromBody(body)));
    this.#socket.on("auth.expired", () => {
      this.#expired = true;
    });
    this.#socket.on("resync", (info) => {
      const topics = Array.isArray(info?.topics) ? info.topics.map((t) => t?.topic).filter((t) => typeof t === "string") : [];
      this.#subscriptions.resync(topics);
    });
    this.#socket.io.on("reconnect_failed", this.#onReconnectFailed);
    this.#socket.onAny((event: string, ...args: unknown[]) => this.#onAny(event, args[0]));
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new HubError("closed", "the hub is closed"));
    if (this.#socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  subscribe(topic: string, handlers: SubscribeHandlers): () => void {
    if (this.#closed) throw new HubError("closed", "the hub is closed");
    return this.#subscriptions.add(topic, handlers);
  }

  async ack(topic: string, offset: number, epoch?: string): Promise<number> {
    return this.#sendAck(topic, offset, epoch ?? this.#subscriptions.position(topic)?.epoch);
  }

  async publish(topic: string, event: string, data: Record<string, unknown>, options: PublishOptions = {}): Promise<PublishOk> {
    if (this.#closed) throw new HubError("closed", "the hub is closed");
    return this.#publications.publish({
      topic,
      event,
      data,
      ...(options.id === undefined ? {} : { id: options.id }),
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  }

  typing(topic: string, options: TypingOptions = {}): TypingIndicator {
    if (this.#closed) throw new HubError("closed", "the hub is closed");
    const onError = options.onError ?? (() => {});
    const indicator = new ThrottledTyping({
      throttleMs: options.throttleMs ?? 3_000,
      idleMs: options.idleMs ?? 5_000,
      send: (event) => {
        Promise.resolve(options.token ?? this.#topicToken(topic))
          .then((token) => this.#publications.sendOnce({ topic, event, data: {}, ...(token === undefined ? {} : { token }) }))
          .catch(onError);
      },
      onClose: () => this.#typing.delete(indicator),
    });
    this.#typing.add(indicator);
    return indicator;
  }

  async presence(topic: string): Promise<PresenceMember[]> {
    return (await this.#request("presence", { topic })).users;
  }

  on<E extends keyof HubConnectionEvents>(event: E, listener: HubConnectionEvents[E]): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => void set.delete(listener);
  }

  close(): void {
    if (this.#closed) return;
    // Pending automatic acks go out before the socket closes.
    this.#subscriptions.close();
    this.#closed = true;
    for (const indicator of this.#typing) indicator.abandon();
    this.#typing.clear();
    this.#publications.close();
    this.#retrier.close();
    this.calls.close();
    this.huddles.close();
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#reconnectTimer);
    this.#refreshTimer = undefined;
    this.#reconnectTimer = undefined;
    this.#socket.offAny();
    this.#socket.close();
    this.#socket.removeAllListeners();
    this.#socket.io.off("reconnect_failed", this.#onReconnectFailed);
    this.#settleWaiters(new HubError("closed", "the hub was closed"));
    this.#listeners.clear();
  }

  /** The token a topic was subscribed with, for its publications (a token source is asked each time). */
  async #topicToken(topic: string): Promise<string | undefined> {
    try {
      return await this.#subscriptions.token(topic);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new HubError("unavailable", `the subscription token source of ${topic} failed: ${why}`, { cause: error });
    }
  }

  #request<E extends RequestName>(event: E, payload: PayloadOf<E>): Promise<ReplyOf<E>> {
    if (this.#closed) return Promise.reject(new HubError("closed", "the hub is closed"));
    return request(this.#socket, event, payload, this.#timeoutMs);
  }

  async #sendAck(topic: string, offset: number, epoch: string | undefined): Promise<number> {
    // With the epoch, an acknowledgement from before a history loss is ignored by the server.
    const req: AckRequest & { epoch?: string } = epoch === undefined ? { topic, offset } : { topic, offset, epoch };
    return (await this.#request("ack", req)).offset;
  }

  async #inhouse(event: "inhouse.join" | "inhouse.leave" | "inhouse.check_in", queueId: string): Promise<string> {
    return (await this.#request(event, { queue_id: queueId })).id;
  }

  /** Every event from the server; a `batch` frame is its events in order, each handled as if it came alone. */
  #onAny(event: string, message: unknown): void {
    if (event !== BATCH_EVENT || !this.#coalesce) {
      this.#subscriptions.deliver(event, message);
      return;
    }
    if (!Array.isArray(message)) return;
    for (const item of message) {
      if (Array.isArray(item) && typeof item[0] === "string") this.#subscriptions.deliver(item[0], item[1]);
    }
  }

  #authenticate(cb: (data: object) => void): void {
    this.#tokenFailure = undefined;
    void Promise.resolve()
      .then(() => this.#getToken())
      .then(
        (token) => {
          this.#token = token;
          // resync: a connection that falls behind is resynced (subscribe again from history), not closed.
          // coalesce: a topic's broadcasts of one server turn may come as one `batch` frame (unpacked in #onAny).
          cb({ token, resync: true, coalesce: this.#coalesce });
        },
        (error: unknown) => {
          // The server refuses with token_missing; the refusal handler reports this cause.
          this.#token = undefined;
          this.#tokenFailure = error;
          cb({});
        },
      );
  }

  #onConnect(): void {
    this.#connection++;
    this.#reconnectAttempts = 0;
    this.#expired = false;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#subscriptions.online();
    this.#publications.online();
    this.calls.online();
    this.huddles.online();
    this.#scheduleRefresh(this.#token === undefined ? undefined : tokenExpiry(this.#token));
    const again = this.#everConnected;
    this.#everConnected = true;
    this.#settleWaiters();
    this.#emit("connect");
    if (again) this.#emit("reconnect");
  }

  #onDisconnect(reason: string): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    this.#subscriptions.offline();
    this.#emit("disconnect", reason);
    // socket.io-client reconnects by itself after transport failures, not after the server closed
    // the socket (its token expired, after `auth.expired`): reconnect then, with a fresh token.
    if (!this.#closed && reason === "io server disconnect") this.#reconnectLater(this.#expired);
    this.#expired = false;
  }

  #onConnectError(error: Error & { data?: unknown }): void {
    const refusal = HubError.fromConnectError(error);
    if (!refusal) {
      // A transport error: socket.io-client retries it, unless its reconnection is off.
      if (!this.#socket.io.reconnection()) this.#settleWaiters(new HubError("unavailable", error.message, { cause: error }));
      return;
    }
    const failure = this.#tokenFailure;
    const reported =
      failure !== undefined && refusal.code === "token_missing"
        ? new HubError("token_missing", `getToken failed: ${failure instanceof Error ? failure.message : String(failure)}`, {
            cause: failure,
          })
        : refusal;
    this.#settleWaiters(reported);
    this.#emit("error", reported);
    // A refused handshake is not retried by socket.io-client. Retry it when the refusal is transient
    // (`rate_limited` in a reconnect storm, `unavailable`) or a token source may have a better token.
    if ((this.#refreshable || isTransient(refusal.code)) && !this.#closed) this.#reconnectLater();
  }

  readonly #onReconnectFailed = (): void => this.#settleWaiters(new HubError("unavailable", "socket.io-client gave up reconnecting"));

  #reconnectLater(now = false): void {
    clearTimeout(this.#reconnectTimer);
    const { base, max } = this.#reconnectDelay;
    // Jittered (0.5x to 1.5x, as socket.io-client's own backoff): clients refused together, by a
    // handshake limit after a node died, must not all come back in the same instant.
    const delay = now ? 0 : Math.min(max, base * 2 ** this.#reconnectAttempts++) * (0.5 + Math.random());
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#closed && !this.#socket.connected) this.#socket.connect();
    }, delay);
  }

  #scheduleRefresh(exp: number | undefined): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (!this.#refreshable || exp === undefined) return;
    const connection = this.#connection;
    const delay = refreshDelay(exp, Date.now(), this.#refreshLeadMs);
    // Timers fire at once past 2^31 - 1 ms (~24.8 days): wait the longest allowed, then look again.
    this.#refreshTimer =
      delay > MAX_TIMER_MS
        ? setTimeout(() => this.#scheduleRefresh(exp), MAX_TIMER_MS)
        : setTimeout(() => void this.#refresh(connection), delay);
  }

  async #refresh(connection: number): Promise<void> {
    this.#refreshTimer = undefined;
    try {
      const token = await this.#getToken();
      const reply = await this.#request("auth.refresh", { token });
      if (connection !== this.#connection || this.#closed) return;
      this.#token = token;
      this.#scheduleRefresh(reply.exp);
    } catch (error) {
      if (connection !== this.#connection || this.#closed || !this.#socket.connected) return;
      this.#emit(
        "error",
        error instanceof HubError ? error : new HubError("token_invalid", `getToken failed: ${String(error)}`, { cause: error }),
      );
      // The server would close this connection at exp: open a new one now, with a token fetched for its handshake.
      this.#socket.disconnect();
      this.#socket.connect();
    }
  }

  #settleWaiters(error?: HubError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }

  #emit<E extends keyof HubConnectionEvents>(event: E, ...args: Parameters<HubConnectionEvents[E]>): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) (listener as (...a: typeof args) => void)(...args);
  }
}

/** Retries stop well within the hub's 5-minute dedupe window, or a late retry could be delivered twice. */
const MAX_PUBLISH_TIMEOUT_MS = 240_000;

function publishTimeout(value: number | undefined): number {
  if (value === undefined) return 30_000;
  if (!Number.isFinite(value) || value <= 0 || value > MAX_PUBLISH_TIMEOUT_MS) {
    throw new TypeError(`publishTimeoutMs must be a number of milliseconds from 1 to ${MAX_PUBLISH_TIMEOUT_MS}`);
  }
  return value;
}
