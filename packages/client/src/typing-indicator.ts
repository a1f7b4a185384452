/** What `hub.typing(topic)` returns: call `start()` on every keystroke. */
export interface TypingIndicator {
  /** The user typed: sends `typing:start` unless one went out within the throttle window; (re)arms the idle timer. */
  start(): void;
  /** The user stopped (sent the message, cleared the box): sends `typing:stop` if `typing:start` was sent. */
  stop(): void;
  /** Stops (sending `typing:stop` if needed) and clears the timers; `start()` does nothing afterwards. */
  close(): void;
}

export interface TypingOptions {
  /** A subscription token with `pub: true`. @default the token the topic was subscribed with */
  token?: string;
  /** While `start()` is called repeatedly, `typing:start` goes out at most once per this many ms. @default 3000 */
  throttleMs?: number;
  /** `typing:stop` is sent this long after the last `start()`. @default 5000 */
  idleMs?: number;
  /** A typing publication failed (fire and forget: it is not retried). @default ignored */
  onError?: (error: unknown) => void;
}

export interface TypingSettings {
  throttleMs: number;
  idleMs: number;
  /** Sends one ephemeral publication; never throws. */
  send: (event: "typing:start" | "typing:stop") => void;
  /** Called once by `close()`. */
  onClose?: () => void;
}

/**
 * The typing state of one composer: throttles `typing:start`, sends `typing:stop` after `idleMs`
 * without a keystroke or on `stop()`. Owns its idle timer.
 */
export class ThrottledTyping implements TypingIndicator {
  readonly #settings: TypingSettings;
  /** When the last `typing:start` went out; undefined while not typing. */
  #sentAt: number | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(settings: TypingSettings) {
    this.#settings = settings;
  }

  start(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#sentAt === undefined || now - this.#sentAt >= this.#settings.throttleMs) {
      this.#sentAt = now;
      this.#settings.send("typing:start");
    }
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.stop(), this.#settings.idleMs);
  }

  stop(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#sentAt === undefined) return;
    this.#sentAt = undefined;
    this.#settings.send("typing:stop");
  }

  close(): void {
    if (this.#closed) return;
    this.stop();
    this.#closed = true;
    this.#settings.onClose?.();
  }

  /** Clears the timer without sending anything (the hub is closing its connection). */
  abandon(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#sentAt = undefined;
    this.#closed = true;
  }
}
