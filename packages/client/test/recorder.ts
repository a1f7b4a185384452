import type { ClientEventName, Envelope, Hub, HubError, SubscribedInfo, SubscribeHandlers } from "../src/index.js";

/** A list that tests await conditions on, as items arrive: no sleeping, a bounded wait. */
export class Watched<T> {
  readonly items: T[] = [];
  #waiters: Array<{ match: (items: readonly T[]) => boolean; resolve: () => void }> = [];

  push(item: T): void {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match(this.items)) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once `match` holds for the items; fails after `timeoutMs` naming `what`. */
  until(what: string, match: (items: readonly T[]) => boolean, timeoutMs = 20_000): Promise<void> {
    if (match(this.items)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; have ${JSON.stringify(this.items).slice(0, 2000)}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

/** One subscriber's view of a topic: what its handlers were called with. */
export interface TopicRecord {
  /** Every delivered event but presence announcements. */
  events: Watched<{ event: ClientEventName; envelope: Envelope }>;
  /** `presence.join` and `presence.leave`. */
  presence: Watched<{ event: ClientEventName; envelope: Envelope }>;
  subscribed: Watched<SubscribedInfo>;
  recoveryFailed: Watched<string>;
  errors: Watched<HubError>;
  off: () => void;
  /** Ids delivered under that client event, in order. */
  ids(event?: ClientEventName): string[];
}

/** Subscribes and records every callback. */
export function record(hub: Hub, topic: string, extra: Partial<SubscribeHandlers> = {}): TopicRecord {
  const events = new Watched<{ event: ClientEventName; envelope: Envelope }>();
  const presence = new Watched<{ event: ClientEventName; envelope: Envelope }>();
  const subscribed = new Watched<SubscribedInfo>();
  const recoveryFailed = new Watched<string>();
  const errors = new Watched<HubError>();
  const off = hub.subscribe(topic, {
    onEvent: (event, envelope) => (event.startsWith("presence.") ? presence : events).push({ event, envelope }),
    onSubscribed: (info) => subscribed.push(info),
    onRecoveryFailed: (t) => recoveryFailed.push(t),
    onError: (error) => errors.push(error),
    ...extra,
  });
  return {
    events,
    presence,
    subscribed,
    recoveryFailed,
    errors,
    off,
    ids: (event) => events.items.filter((e) => event === undefined || e.event === event).map((e) => e.envelope.id),
  };
}

/** Resolves with the next call of a hub connection event. */
export function nextHubEvent(hub: Hub, event: "connect" | "reconnect" | "disconnect", timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = hub.on(event, () => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
