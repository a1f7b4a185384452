import type { Envelope } from "./envelope.js";
import { PublishError } from "./hub-error.js";
import { normalizeId } from "./ids.js";
import type { NormalizedEvent } from "./producer-event.js";
import { MAX_TOPIC_LENGTH } from "./topic-registry.js";

/** One copy of an event to deliver: which topic, under which client event name, with what data. */
export interface Delivery {
  topic: string;
  clientEvent: string;
  data: unknown;
}

/** How one domain type (or a family, `scrim_request.*`) reaches clients. */
export interface Route {
  /** An exact domain type, or a family prefix ending in `.*`. */
  match: string;
  /** The socket event name clients listen to; `null` means the domain type itself. */
  clientEvent: string | null;
  /** Topics to deliver to; throws `PublishError("no_route")` when the event lacks what the route needs. */
  topics(event: NormalizedEvent): string[];
  /** The envelope's `data`. */
  data(event: NormalizedEvent): unknown;
}

const asIs = (event: NormalizedEvent): unknown => event.payload;
const orgTopic = (event: NormalizedEvent): string[] => [`org:${event.org_id}`];
const inhouseTopic = (event: NormalizedEvent): string[] => [`inhouse:${event.org_id}`];

function userTopic(event: NormalizedEvent): string[] {
  if (event.user_id === undefined) throw new PublishError("no_route", `${event.type} needs user_id (the recipient)`);
  return [`notifications:${event.user_id}`];
}

function tournamentTopic(event: NormalizedEvent): string[] {
  return [`tournament:${payloadId(event, "tournament_id")}`];
}

function payloadId(event: NormalizedEvent, field: string): string {
  const id = normalizeId(event.payload[field]);
  if (id === undefined) throw new PublishError("no_route", `${event.type} needs payload.${field}`);
  return id;
}

/** `staff:{org}:teams`, `staff:{org}:team:{uuid}` and the parent department's topic, when there is one. */
function teamTopics(event: NormalizedEvent): string[] {
  const base = `staff:${event.org_id}`;
  const topics = [`${base}:teams`, `${base}:team:${payloadId(event, "uuid")}`];
  const department = normalizeId(event.payload.department_uuid);
  if (department !== undefined) topics.push(`${base}:department:${department}`);
  return topics;
}

function departmentTopics(event: NormalizedEvent): string[] {
  const base = `staff:${event.org_id}`;
  return [`${base}:departments`, `${base}:department:${payloadId(event, "uuid")}`];
}

function personTopics(event: NormalizedEvent): string[] {
  const base = `staff:${event.org_id}`;
  return [`${base}:people`, `${base}:person:${payloadId(event, "uuid")}`];
}

/** A membership change concerns the team and the person: both collections and both entities. */
function membershipTopics(event: NormalizedEvent): string[] {
  const base = `staff:${event.org_id}`;
  return [
    `${base}:teams`,
    `${base}:team:${payloadId(event, "team_uuid")}`,
    `${base}:people`,
    `${base}:person:${payloadId(event, "person_uuid")}`,
  ];
}

/** The routing table of the seed's domain events (docs/protocol.md "Routing table"), plus the staff family. */
export const ROUTES: readonly Route[] = [
  {
    match: "notification.created",
    clientEvent: "notification.created",
    topics: userTopic,
    data: (e) => ({ notification: e.payload }),
  },
  {
    match: "tournament_match.confirmed",
    clientEvent: "match_confirmed",
    topics: tournamentTopic,
    data: (e) => ({ match: e.payload }),
  },
  {
    match: "tournament_match.walkover",
    clientEvent: "match_walkover",
    topics: tournamentTopic,
    data: (e) => ({ match: e.payload }),
  },
  { match: "inhouse.queue_updated", clientEvent: "queue_updated", topics: inhouseTopic, data: asIs },
  { match: "inhouse.check_in_expired", clientEvent: "check_in_expired", topics: inhouseTopic, data: asIs },
  { match: "inhouse.session_started", clientEvent: "session_started", topics: inhouseTopic, data: asIs },
  { match: "scrim_request.*", clientEvent: null, topics: orgTopic, data: asIs },
  { match: "team_goal.*", clientEvent: null, topics: orgTopic, data: asIs },
  { match: "player.*", clientEvent: null, topics: orgTopic, data: asIs },
  { match: "roster.*", clientEvent: null, topics: orgTopic, data: asIs },
  // The scraper's events (POST /events/notify) go to the org.
  { match: "match.*", clientEvent: null, topics: orgTopic, data: asIs },
  { match: "staff.team.*", clientEvent: null, topics: teamTopics, data: asIs },
  { match: "staff.department.*", clientEvent: null, topics: departmentTopics, data: asIs },
  { match: "staff.person.*", clientEvent: null, topics: personTopics, data: asIs },
  { match: "staff.membership.*", clientEvent: null, topics: membershipTopics, data: asIs },
];

const VERSION_SUFFIX = /\.v[0-9]+$/;

/**
 * Finds routes by exact type, then by the type without its version suffix, then by family.
 *
 * @example
 * const router = new Router();
 * router.route(event); // [{ topic: "org:42", clientEvent: "roster.player_hired", data: {...} }]
 */
export class Router {
  readonly #exact = new Map<string, Route>();
  readonly #families: Array<[prefix: string, route: Route]> = [];

  constructor(routes: readonly Route[] = ROUTES) {
    for (const route of routes) {
      if (route.match.endsWith(".*")) this.#families.push([route.match.slice(0, -1), route]);
      else this.#exact.set(route.match, route);
    }
  }

  /** The route for a domain type, if any. */
  find(type: string): Route | undefined {
    const exact = this.#exact.get(type) ?? this.#exact.get(type.replace(VERSION_SUFFIX, ""));
    if (exact) return exact;
    for (const [prefix, route] of this.#families) if (type.startsWith(prefix)) return route;
    return undefined;
  }

  /** Every delivery of an event; throws `unknown_type` or `no_route`. */
  route(event: NormalizedEvent): Delivery[] {
    const route = this.find(event.type);
    if (!route) throw new PublishError("unknown_type", `no route for event type ${event.type}`);
    const clientEvent = route.clientEvent ?? event.type;
    const data = route.data(event);
    return route.topics(event).map((topic) => {
      // Two ids of 128 characters can make a topic nobody could subscribe to: refuse it here.
      if (topic.length > MAX_TOPIC_LENGTH) {
        throw new PublishError("no_route", `${event.type} routes to a topic longer than ${MAX_TOPIC_LENGTH} characters`);
      }
      return { topic, clientEvent, data };
    });
  }
}

/** Builds the envelope of one delivery. */
export function toEnvelope(event: NormalizedEvent & { id: string }, delivery: Delivery, ts: number): Envelope {
  return { id: event.id, type: event.type, topic: delivery.topic, org_id: event.org_id, data: delivery.data, ts };
}
