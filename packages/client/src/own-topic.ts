import type { HubError } from "./hub-error.js";
import type { HubEventArgs, SubscribeHandlers } from "./subscription-types.js";

/** What an own topic needs from the connection. */
export interface OwnTopicTransport {
  subscribe(topic: string, handlers: SubscribeHandlers): () => void;
  /** The signed-in user's id (the `userId` option, or the token's `sub`); `undefined` until known. */
  userId(): string | undefined;
  onError(error: HubError): void;
}

/**
 * One of the user's own topics (`webrtc:{me}`, `notifications:{me}`), subscribed once while anyone
 * listens and dropped when the last listener goes. The subscription is the SDK's usual one: sent
 * again after every reconnect from its last position, so nothing sent meanwhile is missed. When the
 * user id is not known yet (a token source before the first handshake), it subscribes on `online()`.
 */
export class OwnTopic {
  readonly #namespace: string;
  readonly #transport: OwnTopicTransport;
  readonly #onEvent: (...args: HubEventArgs) => void;
  #wanted = 0;
  #stop: (() => void) | undefined;

  constructor(namespace: string, transport: OwnTopicTransport, onEvent: (...args: HubEventArgs) => void) {
    this.#namespace = namespace;
    this.#transport = transport;
    this.#onEvent = onEvent;
  }

  /** A listener came: subscribes if it is the first (or as soon as the user id is known). Returns its release. */
  want(): () => void {
    this.#wanted++;
    this.#ensure();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#wanted === 0) this.close();
    };
  }

  /** Connected: the user id may be known now. */
  online(): void {
    this.#ensure();
  }

  close(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  #ensure(): void {
    if (this.#stop || this.#wanted === 0) return;
    const me = this.#transport.userId();
    if (me === undefined) return;
    this.#stop = this.#transport.subscribe(`${this.#namespace}:${me}`, {
      onEvent: this.#onEvent,
      onError: (error) => this.#transport.onError(error),
    });
  }
}

/** Calls each listener; one that throws does not stop the others (its error surfaces in a microtask). */
export function callEach<A extends unknown[]>(listeners: Iterable<(...args: A) => void> | undefined, ...args: A): void {
  for (const listener of [...(listeners ?? [])]) {
    try {
      listener(...args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** A listener of a call or huddle event, as the registries keep it. */
export type AnyListener = (data: unknown, envelope: unknown) => void;

/**
 * Adds a listener to the registry under `event` and returns its remover, which also calls `release`
 * (once). Each registration gets a wrapper of its own: the same function registered twice is
 * removed once per registration.
 */
export function addListener<K>(registry: Map<K, Set<AnyListener>>, event: K, listener: AnyListener, release: () => void): () => void {
  const set = registry.get(event) ?? new Set<AnyListener>();
  registry.set(event, set);
  const own: AnyListener = (data, envelope) => listener(data, envelope);
  set.add(own);
  return () => {
    if (set.delete(own)) release();
  };
}
