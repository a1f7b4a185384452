import type { HuddleEvents, HuddleMember, PayloadOf, ReplyOf } from "@hub/events";
import { HubError, isTransient } from "./hub-error.js";
import { type AnyListener, addListener, callEach, OwnTopic, type OwnTopicTransport } from "./own-topic.js";
import type { Retrier } from "./retrier.js";
import type { HubEventArgs } from "./subscription-types.js";

/** What `hub.huddles.on` listens to. */
export type HuddleEventName = keyof HuddleEvents;

/** The envelope of a huddle event. */
export type HuddleEnvelopeOf<E extends HuddleEventName> = Parameters<HuddleEvents[E]>[0];

/** A listener of `hub.huddles.on(event, ...)`: the event's data (with `huddle_id`), then its envelope. */
export type HuddleListener<E extends HuddleEventName> = (data: HuddleEnvelopeOf<E>["data"], envelope: HuddleEnvelopeOf<E>) => void;

export interface CreateHuddleOptions {
  /** Participants at most. @default the hub's HUDDLE_MAX_PARTICIPANTS, which is also its ceiling */
  max?: number;
}

/** What `hub.huddles.create` resolves with. */
export interface HuddleCreated {
  huddleId: string;
  /** False when the conversation already had a huddle: that one's id is answered. */
  created: boolean;
}

/**
 * Group rooms (`hub.huddles`), one per conversation. `join` subscribes to the huddle's topic, and
 * after a reconnect the SDK resubscribes (replaying what was missed) and joins again by itself, so a
 * connection that comes back within the hub's HUDDLE_GRACE_MS keeps its place. A screen share ends
 * with the connection; share again after a reconnect. Failures reject with a `HubError`
 * (`huddle_full`, `screen_share_taken`, `forbidden`, ...); a rejoin that fails for good (the grace
 * period passed and the huddle ended) is reported on `hub.on("error")` and forgotten.
 *
 * @example
 * const { huddleId } = await hub.huddles.create("c1");
 * hub.huddles.on("huddle:participant:joined", ({ participant }) => addTile(participant.user_id));
 * hub.huddles.on("huddle:message:new", ({ user_id, text }) => show(user_id, text));
 * const participants = await hub.huddles.join(huddleId);
 * await hub.huddles.toggleScreen(huddleId, true); // HubError screen_share_taken if someone shares
 */
export interface HubHuddles {
  /** The conversation's huddle, created if it has none. */
  create(conversationId: string, options?: CreateHuddleOptions): Promise<HuddleCreated>;
  /** Joins (everyone hears `huddle:participant:joined`) and resolves with the participants. */
  join(huddleId: string): Promise<HuddleMember[]>;
  /** Leaves (the last one out ends it) and stops following the huddle. */
  leave(huddleId: string): Promise<void>;
  toggleAudio(huddleId: string, enabled: boolean): Promise<void>;
  toggleVideo(huddleId: string, enabled: boolean): Promise<void>;
  /** One screen share per huddle: a second rejects with `screen_share_taken`. */
  toggleScreen(huddleId: string, enabled: boolean): Promise<void>;
  raiseHand(huddleId: string, raised: boolean): Promise<void>;
  /** Everyone hears `huddle:message:new`; kept in the huddle's history. */
  message(huddleId: string, text: string): Promise<void>;
  /** Each invitee's `notifications:{user_id}` gets `huddle:invited`. */
  invite(huddleId: string, userIds: string[]): Promise<void>;
  /**
   * Listens to the events of the huddles you joined, or (`huddle:invited`) to invitations, which
   * subscribes your `notifications:{user_id}` topic while you listen. Returns the function that stops listening.
   */
  on<E extends HuddleEventName>(event: E, listener: HuddleListener<E>): () => void;
  /** The huddles this connection is in (joined and not left). */
  joined(): string[];
}

type HuddleRequestName =
  | "huddle:create"
  | "huddle:join"
  | "huddle:leave"
  | "huddle:toggle-audio"
  | "huddle:toggle-video"
  | "huddle:toggle-screen"
  | "huddle:raise-hand"
  | "huddle:message"
  | "huddle:invite";

export interface HuddlesTransport extends OwnTopicTransport {
  request<E extends HuddleRequestName>(event: E, payload: PayloadOf<E>): Promise<ReplyOf<E>>;
  /** Which connection this is: bumped on every connect. */
  connection(): number;
}

interface Joined {
  /** Stops following the huddle's topic. */
  stop: () => void;
  /** The connection the hub last counted this participant on. */
  connection: number;
  /** A rejoin is on its way. */
  rejoining: boolean;
}

const HUDDLE_EVENTS: ReadonlySet<string> = new Set<HuddleEventName>([
  "huddle:participant:joined",
  "huddle:participant:left",
  "huddle:participant:updated",
  "huddle:message:new",
  "huddle:ended",
  "huddle:invited",
]);

/** {@link HubHuddles} over the connection's requests and subscriptions, with the rejoin bookkeeping. */
export class Huddles implements HubHuddles {
  readonly #transport: HuddlesTransport;
  readonly #retrier: Retrier;
  readonly #joined = new Map<string, Joined>();
  readonly #listeners = new Map<HuddleEventName, Set<AnyListener>>();
  /** `huddle:invited` arrives on the user's `notifications:` topic. */
  readonly #invitations: OwnTopic;
  #closed = false;

  constructor(transport: HuddlesTransport, retrier: Retrier) {
    this.#transport = transport;
    this.#retrier = retrier;
    this.#invitations = new OwnTopic("notifications", transport, (event, envelope) => {
      if (event === "huddle:invited") this.#dispatch(event, envelope);
    });
  }

  async create(conversationId: string, options: CreateHuddleOptions = {}): Promise<HuddleCreated> {
    const req = options.max === undefined ? { conversation_id: conversationId } : { conversation_id: conversationId, max: options.max };
    const ok = await this.#transport.request("huddle:create", req);
    return { huddleId: ok.huddle_id, created: ok.created };
  }

  async join(huddleId: string): Promise<HuddleMember[]> {
    const connection = this.#transport.connection();
    const ok = await this.#transport.request("huddle:join", { huddle_id: huddleId });
    const known = this.#joined.get(huddleId);
    if (known) {
      known.connection = Math.max(known.connection, connection);
    } else if (!this.#closed) {
      // The hub subscribed this socket already; the SDK's own subscription adds positions, dedupe and replay after a reconnect.
      const entry: Joined = { stop: () => {}, connection, rejoining: false };
      this.#joined.set(huddleId, entry);
      entry.stop = this.#transport.subscribe(`huddle:${huddleId}`, {
        onEvent: (...args) => this.#dispatch(...args),
        onSubscribed: () => this.#resubscribed(huddleId, entry),
        onError: (error) => this.#subscribeFailed(huddleId, entry, error),
      });
    }
    return ok.participants;
  }

  async leave(huddleId: string): Promise<void> {
    await this.#transport.request("huddle:leave", { huddle_id: huddleId });
    this.#forget(huddleId);
  }

  toggleAudio = (huddleId: string, enabled: boolean) => this.#send("huddle:toggle-audio", { huddle_id: huddleId, enabled });
  toggleVideo = (huddleId: string, enabled: boolean) => this.#send("huddle:toggle-video", { huddle_id: huddleId, enabled });
  toggleScreen = (huddleId: string, enabled: boolean) => this.#send("huddle:toggle-screen", { huddle_id: huddleId, enabled });
  raiseHand = (huddleId: string, raised: boolean) => this.#send("huddle:raise-hand", { huddle_id: huddleId, raised });
  message = (huddleId: string, text: string) => this.#send("huddle:message", { huddle_id: huddleId, text });
  invite = (huddleId: string, userIds: string[]) => this.#send("huddle:invite", { huddle_id: huddleId, user_ids: userIds });

  on<E extends HuddleEventName>(event: E, listener: HuddleListener<E>): () => void {
    return addListener(this.#listeners, event, listener as AnyListener, event === "huddle:invited" ? this.#invitations.want() : () => {});
  }

  joined(): string[] {
    return [...this.#joined.keys()];
  }

  /** Connected: the invitations topic may wait for the user id. (Rejoins follow each huddle's resubscribe.) */
  online(): void {
    this.#invitations.online();
  }

  close(): void {
    this.#closed = true;
    this.#invitations.close();
    for (const huddleId of [...this.#joined.keys()]) this.#forget(huddleId);
    this.#listeners.clear();
  }

  /**
   * The huddle's topic was subscribed (again). After a reconnect the hub counts this participant
   * as away: join again. Rejoining after the resubscribe, not before, lets the resubscribe replay
   * what was missed (a socket the join already put on the topic would get no replay).
   */
  #resubscribed(huddleId: string, entry: Joined): void {
    const connection = this.#transport.connection();
    if (entry.connection === connection || entry.rejoining || this.#joined.get(huddleId) !== entry) return;
    entry.rejoining = true;
    this.#retrier
      .run(() => this.#transport.request("huddle:join", { huddle_id: huddleId }))
      .then(
        () => {
          entry.connection = connection;
        },
        (error: unknown) => {
          if (this.#joined.get(huddleId) !== entry || this.#closed) return;
          this.#forget(huddleId);
          this.#transport.onError(rejoinFailure(huddleId, error));
        },
      )
      .finally(() => {
        entry.rejoining = false;
      });
  }

  /** The resubscribe was refused for good (no longer a participant: the grace period passed). */
  #subscribeFailed(huddleId: string, entry: Joined, error: HubError): void {
    if (this.#joined.get(huddleId) !== entry) return;
    this.#transport.onError(error);
    // Transient failures are retried by the subscription itself; anything else dropped it.
    if (!isTransient(error.code)) this.#joined.delete(huddleId);
  }

  #forget(huddleId: string): void {
    const entry = this.#joined.get(huddleId);
    if (!entry) return;
    this.#joined.delete(huddleId);
    entry.stop();
  }

  #dispatch(...[event, envelope]: HubEventArgs): void {
    if (!HUDDLE_EVENTS.has(event)) return;
    callEach(this.#listeners.get(event as HuddleEventName), envelope.data, envelope);
    if (event === "huddle:ended") this.#forget((envelope.data as { huddle_id: string }).huddle_id);
  }

  async #send<E extends Exclude<HuddleRequestName, "huddle:create" | "huddle:join" | "huddle:leave">>(
    event: E,
    payload: PayloadOf<E>,
  ): Promise<void> {
    await this.#transport.request(event, payload);
  }
}

function rejoinFailure(huddleId: string, error: unknown): HubError {
  const cause = error instanceof HubError ? error : new HubError("internal", String(error), { cause: error });
  return new HubError(cause.code, `rejoining huddle ${huddleId} after a reconnect failed: ${cause.message}`, { cause });
}
