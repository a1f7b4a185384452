import { CHAT_CLIENT_EVENTS, type ClientEventSpec, type ResolvedClientEvent, resolveClientEvent } from "./client-events.js";
import { ProtocolError } from "./hub-error.js";
import { ID_SEGMENT } from "./ids.js";
import type { Principal } from "./principal.js";

/**
 * Who may subscribe to a namespace's topics. The scoped identity is the first segment of the
 * topic id: `notifications:{user_id}`, `inhouse:{org_id}`, `staff:{org_id}:team:{uuid}`.
 * - `user`: the token's `sub` must equal that segment.
 * - `org`: the token's `org_id` must equal that segment.
 * - `authenticated`: any verified user.
 * Service principals may subscribe to every topic.
 */
export type NamespaceScope = "user" | "org" | "authenticated";

/**
 * How a user gets access to a namespace's topics beyond its scope:
 * - `scope`: the scope decides alone;
 * - `grant`: the scope must allow it and the user must also hold a grant for the topic, from a
 *   subscription token or the backend check (`AUTHZ_URL`). Membership of a conversation is not in
 *   a user's JWT. The topic's room, history and presence are per org, like a per-user topic's.
 * - `member`: membership of the topic's entity decides (a huddle's participants), as the gateway's
 *   entity runtime knows it; its room is per org too.
 */
export type NamespaceAuthorize = "scope" | "grant" | "member";

/** The client events presence announces on a namespace's topics. */
export interface PresenceEventNames {
  join: string;
  leave: string;
  /**
   * A user's presence metadata changed (`presence.update`).
   * @default "presence.update"
   */
  update?: string;
  /**
   * Tracked, not announced: `presence` answers and the sweep of a dead gateway's users work, no
   * join, leave or update event is sent to the topic (a user's own `webrtc:` topic).
   * @default false
   */
  silent?: boolean;
}

/** How much of a topic's past the hub keeps for recovery. */
export interface HistoryPolicy {
  /** How long an event stays recoverable, in milliseconds. */
  ttlMs: number;
  /** How many events per topic are kept at most. */
  size: number;
}

export interface NamespaceSpec {
  /** The part before the first `:`; lowercase letters, digits and `_`. */
  name: string;
  scope: NamespaceScope;
  /**
   * How many `:`-separated segments the id may have (`staff:{org_id}:team:{uuid}` has 3).
   * @default 1
   */
  maxSegments?: number;
  /**
   * A regular expression the whole id must match, beyond the segment rules, e.g. the shapes of a
   * nested family. @default none
   */
  pattern?: RegExp | null;
  /** Recovery window; `null` keeps no history. @default null */
  history?: HistoryPolicy | null;
  /** Whether presence is tracked on the namespace's topics. @default false */
  presence?: boolean;
  /** What presence is announced as. @default `presence.join` / `presence.leave` */
  presenceEvents?: PresenceEventNames;
  /** @default "scope" */
  authorize?: NamespaceAuthorize;
  /** The client events users may publish on the namespace's topics, by name. @default none */
  clientEvents?: Readonly<Record<string, ClientEventSpec>>;
}

/** A topic that passed syntax checks and belongs to a declared namespace. */
export interface ParsedTopic {
  topic: string;
  namespace: ResolvedNamespace;
  /** Everything after `<namespace>:`. */
  id: string;
  /** The first segment of the id: the user or org the topic belongs to, for scoped namespaces. */
  owner: string;
}

/** A namespace declaration with its defaults applied and its client events compiled. */
export interface ResolvedNamespace {
  readonly name: string;
  readonly scope: NamespaceScope;
  readonly maxSegments: number;
  readonly pattern: RegExp | null;
  readonly history: HistoryPolicy | null;
  readonly presence: boolean;
  readonly presenceEvents: PresenceEventNames;
  readonly authorize: NamespaceAuthorize;
  readonly clientEvents: ReadonlyMap<string, ResolvedClientEvent>;
  /**
   * Whether the namespace has durable client events: its topics' rooms carry a stream bucket
   * (`roomOf`), so a publication's history, broadcast and client-event stream share one slot.
   */
  readonly streamed: boolean;
}

/** What presence is announced as unless a namespace says otherwise. */
export const DEFAULT_PRESENCE_EVENTS: PresenceEventNames = { join: "presence.join", leave: "presence.leave", update: "presence.update" };

/** Longest topic string accepted, in characters. */
export const MAX_TOPIC_LENGTH = 256;

const NAMESPACE_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const MINUTE = 60_000;

/** The namespaces every hub declares (docs/protocol.md "Topics and namespaces"). */
export const BUILTIN_NAMESPACES: readonly NamespaceSpec[] = [
  { name: "notifications", scope: "user", history: { ttlMs: 7 * 24 * 60 * MINUTE, size: 1000 } },
  { name: "inhouse", scope: "org", history: { ttlMs: 5 * MINUTE, size: 200 }, presence: true },
  { name: "org", scope: "org", history: { ttlMs: 5 * MINUTE, size: 200 }, presence: true },
  { name: "tournament", scope: "authenticated", history: { ttlMs: 10 * MINUTE, size: 200 } },
  {
    // Hierarchical: one staff change fans out to the collection, the entity and its parents.
    name: "staff",
    scope: "org",
    maxSegments: 3,
    pattern: /^[^:]+:(teams|departments|people|(team|department|person):[^:]+)$/,
    history: { ttlMs: 5 * MINUTE, size: 200 },
  },
  {
    // Seed 003's chat channel: membership comes from the backend, users publish.
    name: "chat",
    scope: "authenticated",
    authorize: "grant",
    history: { ttlMs: 7 * 24 * 60 * MINUTE, size: 1000 },
    presence: true,
    presenceEvents: { join: "user:online", leave: "user:offline", update: "user:presence" },
    clientEvents: CHAT_CLIENT_EVENTS,
  },
  // Seed 003's calls: a user's call events and the signalling the other party relays to them.
  // Presence tracked silently: a gateway that dies ends its users' calls when the sweep removes them.
  {
    name: "webrtc",
    scope: "user",
    history: { ttlMs: 2 * MINUTE, size: 200 },
    presence: true,
    presenceEvents: { join: "presence.join", leave: "presence.leave", silent: true },
  },
  // Seed 003's huddles: only participants subscribe (huddle:join does it for them).
  { name: "huddle", scope: "authenticated", authorize: "member", history: { ttlMs: 7 * 24 * 60 * MINUTE, size: 500 }, presence: true },
];

/**
 * The one registry of topic namespaces: parses topics and decides who may subscribe.
 *
 * @example
 * const registry = new TopicRegistry();
 * const topic = registry.parse("org:42"); // throws ProtocolError("invalid_topic" | "unknown_namespace")
 * registry.authorize(principal, topic);   // throws ProtocolError("forbidden")
 */
export class TopicRegistry {
  readonly #namespaces = new Map<string, ResolvedNamespace>();

  /** @param extra namespaces added to (or replacing, by name) the built-in ones */
  constructor(extra: readonly NamespaceSpec[] = []) {
    for (const spec of [...BUILTIN_NAMESPACES, ...extra]) this.#namespaces.set(spec.name, resolve(spec));
  }

  /** The declared namespace of that name, if any. */
  namespace(name: string): ResolvedNamespace | undefined {
    return this.#namespaces.get(name);
  }

  /** The declared namespace a topic string belongs to (its part before the first `:`), without validating the rest. */
  namespaceOf(topic: string): ResolvedNamespace | undefined {
    const colon = topic.indexOf(":");
    return colon > 0 ? this.#namespaces.get(topic.slice(0, colon)) : undefined;
  }

  /** Every declared namespace. */
  namespaces(): ResolvedNamespace[] {
    return [...this.#namespaces.values()];
  }

  /** Parses a topic string; throws `invalid_topic` or `unknown_namespace`. */
  parse(topic: unknown): ParsedTopic {
    if (typeof topic !== "string" || topic.length === 0) {
      throw new ProtocolError("invalid_topic", "topic must be a non-empty string");
    }
    if (topic.length > MAX_TOPIC_LENGTH) {
      throw new ProtocolError("invalid_topic", `topic is longer than ${MAX_TOPIC_LENGTH} characters`);
    }
    const colon = topic.indexOf(":");
    if (colon <= 0) throw new ProtocolError("invalid_topic", "topic must look like <namespace>:<id>");
    const name = topic.slice(0, colon);
    if (!NAMESPACE_NAME.test(name)) throw new ProtocolError("invalid_topic", "malformed namespace");
    const namespace = this.#namespaces.get(name);
    if (!namespace) throw new ProtocolError("unknown_namespace", `namespace "${name}" is not declared`);

    const id = topic.slice(colon + 1);
    const segments = id.split(":");
    if (segments.length > namespace.maxSegments) {
      throw new ProtocolError("invalid_topic", `namespace "${name}" takes ids of at most ${namespace.maxSegments} segment(s)`);
    }
    for (const segment of segments) {
      if (!ID_SEGMENT.test(segment)) {
        throw new ProtocolError("invalid_topic", "topic id segments must match [A-Za-z0-9_.-]{1,128}");
      }
    }
    if (namespace.pattern && !namespace.pattern.test(id)) {
      throw new ProtocolError("invalid_topic", `not a topic of the "${name}" family`);
    }
    return { topic, namespace, id, owner: segments[0] as string };
  }

  /**
   * Throws `forbidden` unless the principal's identity allows it on the topic (the namespace's
   * scope). On a namespace with `authorize: "grant"` a user needs a grant as well (`needsGrant`).
   */
  authorize(principal: Principal, topic: ParsedTopic, action: "subscribe" | "publish" = "subscribe"): void {
    if (!mayAccess(principal, topic)) {
      throw new ProtocolError("forbidden", `not allowed to ${action} on ${topic.topic}`);
    }
  }

  /** Whether the principal needs a grant for the topic beyond its scope (users on `authorize: "grant"` namespaces). */
  needsGrant(principal: Principal, topic: ParsedTopic): boolean {
    return principal.kind === "user" && topic.namespace.authorize === "grant";
  }
}

function mayAccess(principal: Principal, topic: ParsedTopic): boolean {
  if (principal.kind === "service") return true;
  switch (topic.namespace.scope) {
    case "authenticated":
      return true;
    case "user":
      return topic.owner === principal.userId;
    case "org":
      return topic.owner === principal.orgId;
  }
}

function resolve(spec: NamespaceSpec): ResolvedNamespace {
  if (!NAMESPACE_NAME.test(spec.name)) throw new TypeError(`invalid namespace name "${spec.name}"`);
  const maxSegments = spec.maxSegments ?? 1;
  if (!Number.isInteger(maxSegments) || maxSegments < 1 || maxSegments > 8) {
    throw new TypeError(`namespace "${spec.name}": maxSegments must be an integer from 1 to 8`);
  }
  const clientEvents = new Map<string, ResolvedClientEvent>();
  for (const [name, event] of Object.entries(spec.clientEvents ?? {})) clientEvents.set(name, resolveClientEvent(spec.name, name, event));
  const streamed = [...clientEvents.values()].some((event) => event.kind === "durable");
  if (streamed && !spec.history) {
    throw new TypeError(`namespace "${spec.name}": durable client events need a history (their offsets live there)`);
  }
  return {
    name: spec.name,
    scope: spec.scope,
    maxSegments,
    pattern: spec.pattern ?? null,
    history: spec.history ?? null,
    presence: spec.presence ?? false,
    presenceEvents: spec.presenceEvents ?? DEFAULT_PRESENCE_EVENTS,
    authorize: spec.authorize ?? "scope",
    clientEvents,
    streamed,
  };
}
