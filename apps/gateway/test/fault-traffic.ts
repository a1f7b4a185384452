// Traffic for the fault matrix: a producer publishing a steady stream over several org topics,
// retrying each event (same id) until the hub takes it, and an audience of @hub/client subscribers
// that records what each of them was given, per topic, after the client's dedupe.
import { connectHub, type Envelope, type Hub, type HubError, type SubscribedInfo } from "@hub/client";
import { serviceToken, until, userToken } from "@hub/devkit";
import type { HubEmitter } from "@hub/emitter";
import type { Queue } from "@hub/events";
import { expect } from "vitest";

/** The stream's domain type (routed to `org:{org_id}`, which keeps 200 events / 5 min of history). */
export const STREAM_TYPE = "roster.player_hired";

export interface StreamOptions {
  emitter: HubEmitter;
  orgs: readonly string[];
  /** Events per second on each topic. */
  perTopicPerSecond: number;
  /** Filler characters in each payload (`padding`), for rows that need bytes on the wire. @default 0 */
  paddingBytes?: number;
}

/**
 * A producer that publishes `perTopicPerSecond` events per topic, round robin, each awaited before
 * the next (one producer's order is the topics' offset order). An event the hub does not take
 * (Redis unreachable) is retried with the same id: idempotent publish makes that safe.
 */
export class EventStream {
  /** Ids the hub accepted, per topic, in acceptance order. */
  readonly published = new Map<string, string[]>();
  /** Failed attempts (each retried), by error message. */
  readonly failures = new Map<string, number>();
  readonly #options: StreamOptions;
  #running = false;
  #aborted = false;
  #loop: Promise<void> | undefined;
  #next = 0;

  constructor(options: StreamOptions) {
    this.#options = options;
    for (const org of options.orgs) this.published.set(`org:${org}`, []);
  }

  get total(): number {
    let sum = 0;
    for (const ids of this.published.values()) sum += ids.length;
    return sum;
  }

  get failedAttempts(): number {
    let sum = 0;
    for (const count of this.failures.values()) sum += count;
    return sum;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops after the event in flight is taken (it keeps retrying until then). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Stops at once, giving up on an event in flight that Redis does not take (a row that failed). */
  async abort(): Promise<void> {
    this.#aborted = true;
    await this.stop();
  }

  /** Resolves once `count` more events were accepted. */
  async advance(count: number, timeoutMs = 20_000): Promise<void> {
    const target = this.total + count;
    await until(`${count} more published events`, () => this.total >= target, timeoutMs);
  }

  async #run(): Promise<void> {
    const { emitter, orgs, perTopicPerSecond, paddingBytes = 0 } = this.#options;
    const padding = paddingBytes > 0 ? { padding: "x".repeat(paddingBytes) } : {};
    const intervalMs = 1_000 / (perTopicPerSecond * orgs.length);
    let due = Date.now();
    while (this.#running) {
      const org = orgs[this.#next % orgs.length] as string;
      const id = `${org}-${Math.floor(this.#next / orgs.length) + 1}`;
      this.#next++;
      for (;;) {
        try {
          await emitter.publish({ id, type: STREAM_TYPE, org_id: org, payload: { player_id: id, ...padding } });
          break;
        } catch (error) {
          const message = (error as Error).message;
          this.failures.set(message, (this.failures.get(message) ?? 0) + 1);
          if (this.#aborted) return;
          await pause(100);
        }
      }
      (this.published.get(`org:${org}`) as string[]).push(id);
      // Pacing, not synchronization: a steady rate however long each publish took.
      due = Math.max(due + intervalMs, Date.now() - intervalMs);
      await pause(due - Date.now());
    }
  }
}

/** What one subscriber was told on one topic. */
export interface TopicRecord {
  /** Stream envelopes handed to onEvent (after the SDK's dedupe), in arrival order. */
  events: Envelope[];
  /** Every onSubscribed, in order (the first subscribe and each resubscribe). */
  subscribed: SubscribedInfo[];
  /** onRecoveryFailed calls. */
  recoveryFailed: number;
}

export interface Member {
  readonly name: string;
  /** The user's id, for users; undefined for bots. */
  readonly userId: string | undefined;
  readonly hub: Hub;
  readonly topics: Map<string, TopicRecord>;
  readonly disconnects: string[];
  readonly errors: HubError[];
}

/**
 * `size` @hub/client connections through `url` (WebSocket, quick reconnects): even members are
 * service bots following every org, odd ones are users of one org on its topic, so each topic has
 * bots and users (with presence) on it.
 */
export class Audience {
  readonly members: Member[] = [];
  #closed = false;

  static async connect(url: string, orgs: readonly string[], size: number): Promise<Audience> {
    const audience = new Audience();
    const bot = await serviceToken("fault-matrix-bot");
    for (let i = 0; i < size; i++) {
      const org = orgs[Math.floor(i / 2) % orgs.length] as string;
      const isBot = i % 2 === 0;
      const userId = isBot ? undefined : `fm-user-${org}-${i}`;
      const token = userId === undefined ? bot : await userToken({ sub: userId, org_id: org });
      const hub = connectHub({
        url,
        token,
        // Short timeouts and backoff keep the suite fast; what is asserted does not depend on them.
        requestTimeoutMs: 8_000,
        socketOptions: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 1_000 },
      });
      const member: Member = { name: isBot ? `bot-${i}` : `user-${i}@${org}`, userId, hub, topics: new Map(), disconnects: [], errors: [] };
      audience.members.push(member);
      hub.on("disconnect", (reason) => {
        // Closing the audience disconnects everyone: not a fault's doing.
        if (!audience.#closed) member.disconnects.push(reason);
      });
      hub.on("error", (error) => member.errors.push(error));
      for (const topic of isBot ? orgs.map((o) => `org:${o}`) : [`org:${org}`]) {
        const record: TopicRecord = { events: [], subscribed: [], recoveryFailed: 0 };
        member.topics.set(topic, record);
        hub.subscribe(topic, {
          onEvent: (event, envelope) => {
            // Presence announcements share the topic; they are not part of the stream.
            if (event === STREAM_TYPE) record.events.push(envelope);
          },
          onSubscribed: (info) => record.subscribed.push(info),
          onRecoveryFailed: () => record.recoveryFailed++,
          onError: (error) => member.errors.push(error),
        });
      }
    }
    await audience.allSubscribed(1, 20_000);
    return audience;
  }

  /** Every (member, topic) pair. */
  *pairs(): Generator<{ member: Member; topic: string; record: TopicRecord }> {
    for (const member of this.members) for (const [topic, record] of member.topics) yield { member, topic, record };
  }

  /** Resolves once every subscription of `members` (default all) was confirmed at least `count` times. */
  async allSubscribed(count: number, timeoutMs = 20_000, members: readonly Member[] = this.members): Promise<void> {
    await until(
      `every subscription confirmed ${count} time(s)`,
      () => members.every((member) => [...member.topics.values()].every((record) => record.subscribed.length >= count)),
      timeoutMs,
    );
  }

  /** Members whose connection dropped at least once. */
  disconnected(): Member[] {
    return this.members.filter((m) => m.disconnects.length > 0);
  }

  /** Resolves once every subscriber holds the last event published on each of its topics. */
  async caughtUp(stream: EventStream, timeoutMs = 30_000): Promise<void> {
    await until(
      "every subscriber to have the last event of each of its topics",
      () =>
        [...this.pairs()].every(({ topic, record }) => {
          const last = stream.published.get(topic)?.at(-1);
          return last === undefined || record.events.some((e) => e.id === last);
        }),
      timeoutMs,
    );
  }

  close(): void {
    this.#closed = true;
    for (const member of this.members) member.hub.close();
  }
}

/**
 * The recovery guarantee for one subscription: it was given exactly the published ids, each once,
 * in offset order within one epoch, and never told that recovery failed.
 */
export function expectExactlyOnce(audience: Audience, stream: EventStream): void {
  for (const { member, topic, record } of audience.pairs()) {
    const label = `${member.name} on ${topic}`;
    expect(
      record.events.map((e) => e.id),
      label,
    ).toEqual(stream.published.get(topic));
    expectOffsetOrder(record.events, label);
    expect(new Set(record.events.map((e) => e.epoch)).size, `${label}: epochs`).toBe(1);
    expect(record.recoveryFailed, `${label}: onRecoveryFailed`).toBe(0);
    for (const info of record.subscribed.slice(1)) expect(info.recovered, `${label}: a resubscribe`).toBe(true);
  }
}

/** Strictly increasing offsets within each epoch; ids never repeated. */
export function expectOffsetOrder(events: readonly Envelope[], label: string): void {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size, `${label}: an id delivered twice`).toBe(ids.length);
  for (let i = 1; i < events.length; i++) {
    const [before, after] = [events[i - 1] as Envelope, events[i] as Envelope];
    if (before.epoch !== after.epoch) continue;
    expect((after.offset as number) > (before.offset as number), `${label}: offset ${after.offset} after ${before.offset}`).toBe(true);
  }
}

/** A service bot on `inhouse:{org}` recording every `queue_updated`. */
export class QueueWatcher {
  readonly updates: Array<Envelope<{ queue: Queue }>> = [];
  recoveryFailed = 0;
  readonly #hub: Hub;

  private constructor(hub: Hub) {
    this.#hub = hub;
  }

  static async watch(url: string, org: string): Promise<QueueWatcher> {
    const hub = connectHub({
      url,
      token: await serviceToken("fault-matrix-queues"),
      socketOptions: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 1_000 },
    });
    const watcher = new QueueWatcher(hub);
    await new Promise<void>((resolve, reject) => {
      hub.subscribe(`inhouse:${org}`, {
        onEvent: (event, envelope) => {
          if (event === "queue_updated") watcher.updates.push(envelope as unknown as Envelope<{ queue: Queue }>);
        },
        onSubscribed: () => resolve(),
        onRecoveryFailed: () => watcher.recoveryFailed++,
        onError: reject,
      });
    });
    return watcher;
  }

  /** The queue as of `version`, once its `queue_updated` arrived. */
  async version(queueId: string, version: number, timeoutMs = 15_000): Promise<Queue> {
    const found = await until(
      `queue_updated ${queueId} v${version}`,
      () => this.updates.find((u) => u.data.queue.id === queueId && u.data.queue.version === version),
      timeoutMs,
    );
    return found.data.queue;
  }

  close(): void {
    this.#hub.close();
  }
}

/**
 * Each org topic's presence lists exactly the audience's users of that org, one connection each,
 * within `withinMs` (a dead node's entries linger until the others sweep them: 1.25 x PRESENCE_TTL_MS).
 */
export async function expectPresence(audience: Audience, withinMs = 0): Promise<void> {
  const asker = audience.members[0] as Member;
  const want = new Map(
    [...asker.topics.keys()].map((topic) => [
      topic,
      audience.members.filter((m) => m.userId !== undefined && m.topics.has(topic)).map((m) => [m.userId, 1]),
    ]),
  );
  const seen = async () =>
    new Map(
      await Promise.all(
        [...want.keys()].map(async (topic) => [topic, (await asker.hub.presence(topic)).map((u) => [u.user_id, u.connections])] as const),
      ),
    );
  if (withinMs > 0) {
    await until(
      "presence to list each user once",
      async () => JSON.stringify([...(await seen())]) === JSON.stringify([...want]),
      withinMs,
    ).catch(() => undefined);
  }
  expect(await seen()).toEqual(want);
}

/** A service bot subscribing to one topic through HAProxy, recording what it is given and told. */
export interface Watcher {
  hub: Hub;
  /** Resolves with the first confirmation and how long after the subscribe it came. */
  subscribed: Promise<{ afterMs: number }>;
  confirmed(): boolean;
  errors: Array<{ code: string; afterMs: number }>;
  ids(): string[];
}

export function watch(url: string, topic: string, token: string): Watcher {
  const startedAt = Date.now();
  const hub = connectHub({ url, token, socketOptions: { transports: ["websocket"], reconnectionDelay: 100 } });
  const events: Envelope[] = [];
  const errors: Watcher["errors"] = [];
  let confirmed = false;
  const subscribed = new Promise<{ afterMs: number }>((resolve) => {
    hub.subscribe(topic, {
      onEvent: (_event, envelope) => events.push(envelope),
      onSubscribed: () => {
        confirmed = true;
        resolve({ afterMs: Date.now() - startedAt });
      },
      onError: (error: HubError) => errors.push({ code: error.code, afterMs: Date.now() - startedAt }),
    });
  });
  return { hub, subscribed, confirmed: () => confirmed, errors, ids: () => events.filter((e) => e.type === STREAM_TYPE).map((e) => e.id) };
}

/** A copy of what the stream published so far, per topic. */
export function snapshot(stream: EventStream): Map<string, string[]> {
  return new Map([...stream.published].map(([topic, ids]) => [topic, [...ids]]));
}

/** Whether `items` appear in `of`, in that order (others may lie between). */
export function isSubsequence(items: readonly string[], of: readonly string[]): boolean {
  let at = 0;
  for (const item of items) {
    at = of.indexOf(item, at);
    if (at < 0) return false;
    at++;
  }
  return true;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
