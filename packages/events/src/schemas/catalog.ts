import { type TSchema, Type } from "@sinclair/typebox";
import { IdLike, Payload, QueueSchema as Queue, Sensitive } from "./common.js";

/** The payload schema of one domain type at one version, or of a family of types (`roster.*`). */
export interface EventSchemaSpec {
  /** A domain type without version suffix, or a family prefix ending in `.*` (any version). */
  type: string;
  /** @default 1 */
  version?: number;
  payload: TSchema;
  description: string;
}

const anyObject = Payload({});

/**
 * Every domain type the hub accepts. A type without a `.vN` suffix is version 1; within a version
 * only additive changes are allowed (new optional properties), anything else is a new version.
 */
export const EVENT_SCHEMAS: readonly EventSchemaSpec[] = [
  {
    type: "notification.created",
    description: "A notification for one user; the recipient is the envelope's user_id.",
    payload: Payload({
      id: Type.Optional(IdLike),
      title: Type.Optional(Type.String({ maxLength: 1000 })),
      body: Type.Optional(Type.String({ maxLength: 10_000 })),
      kind: Type.Optional(Type.String({ maxLength: 100 })),
      link: Type.Optional(Type.String({ maxLength: 2000 })),
      recipient_email: Type.Optional(Sensitive(Type.String({ maxLength: 320 }))),
    }),
  },
  {
    type: "tournament_match.confirmed",
    description: "A tournament match was confirmed.",
    payload: Payload({ tournament_id: IdLike, id: Type.Optional(IdLike), status: Type.Optional(Type.String()) }),
  },
  {
    type: "tournament_match.confirmed",
    version: 2,
    description: "Version 2 of tournament_match.confirmed: the match id and confirmation time are required.",
    payload: Payload({ tournament_id: IdLike, match_id: IdLike, confirmed_at: Type.String({ format: "date-time", maxLength: 64 }) }),
  },
  {
    type: "tournament_match.walkover",
    description: "A tournament match ended by walkover.",
    payload: Payload({ tournament_id: IdLike, id: Type.Optional(IdLike), winner_id: Type.Optional(IdLike) }),
  },
  { type: "inhouse.queue_updated", description: "An inhouse queue changed.", payload: Payload({ queue: Queue }) },
  {
    type: "inhouse.check_in_expired",
    description: "A check-in deadline passed; the players who had not checked in were removed.",
    payload: Payload({ queue: Queue, removed: Type.Array(Type.String(), { maxItems: 100 }) }),
  },
  { type: "inhouse.session_started", description: "An inhouse session started.", payload: Payload({ queue: Queue }) },
  { type: "scrim_request.*", description: "Scrim request events, delivered to the org as sent.", payload: anyObject },
  { type: "team_goal.*", description: "Team goal events, delivered to the org as sent.", payload: anyObject },
  { type: "player.*", description: "Player events, delivered to the org as sent.", payload: anyObject },
  { type: "roster.*", description: "Roster events, delivered to the org as sent.", payload: anyObject },
  { type: "match.*", description: "Scraper match events, delivered to the org as sent.", payload: anyObject },
  {
    type: "staff.team.*",
    description: "A team changed: delivered to the teams collection, the team and its parent department.",
    payload: Payload({ uuid: IdLike, department_uuid: Type.Optional(Type.Union([IdLike, Type.Null()])) }),
  },
  {
    type: "staff.department.*",
    description: "A department changed: delivered to the departments collection and the department.",
    payload: Payload({ uuid: IdLike }),
  },
  {
    type: "staff.person.*",
    description: "A person changed: delivered to the people collection and the person.",
    payload: Payload({ uuid: IdLike, email: Type.Optional(Sensitive(Type.String({ maxLength: 320 }))) }),
  },
  {
    type: "staff.membership.*",
    description: "A person joined or left a team: delivered to both collections, the team and the person.",
    payload: Payload({ team_uuid: IdLike, person_uuid: IdLike }),
  },
];
