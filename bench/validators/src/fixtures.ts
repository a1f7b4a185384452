/**
 * Inputs as the hub receives them: parsed JSON (so no `undefined`, no class instances).
 * Every candidate must agree with `expected` on all of `CONFORMANCE` before anything is timed.
 */

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export const VALID_TOURNAMENT = json({
  id: "evt_01J9Z6Q7K3M2N4P5R6S7T8V9W0",
  type: "tournament_match.confirmed",
  org_id: 4211,
  user_id: null,
  payload: {
    tournament_id: "spring-cup-2025",
    id: "match-118",
    status: "confirmed",
    round: 3,
    team_a: { id: 77, score: 2 },
    team_b: { id: 91, score: 1 },
    confirmed_at: "2025-04-12T18:03:22Z",
  },
});

export const VALID_QUEUE = json({
  id: "evt_01J9Z6Q7K3M2N4P5R6S7T8V9W1",
  type: "inhouse.queue_updated",
  org_id: "acme-esports",
  payload: {
    queue: {
      id: "q-5v5-eu",
      org_id: "acme-esports",
      status: "check_in",
      capacity: 10,
      players: Array.from({ length: 10 }, (_, i) => ({ user_id: `u-${1000 + i}`, checked_in: i % 3 !== 0 })),
      check_in_deadline: 1_744_480_000_000,
      version: 57,
    },
  },
});

/** Wrong org_id type (boolean): the first (and only) error is at `org_id`. */
export const INVALID_ORG_ID = json({ ...VALID_TOURNAMENT, org_id: true });

type Case = { name: string; input: unknown; expected: boolean; path?: string };

const withEnvelope = (patch: Record<string, unknown>) => json({ ...VALID_TOURNAMENT, ...patch });
const withQueue = (patch: Record<string, unknown>) =>
  json({ ...VALID_QUEUE, payload: { queue: { ...VALID_QUEUE.payload.queue, ...patch } } });
const player = (patch: Record<string, unknown>) => [{ ...VALID_QUEUE.payload.queue.players[0], ...patch }];

export const CONFORMANCE: Case[] = [
  { name: "valid tournament", input: VALID_TOURNAMENT, expected: true },
  { name: "valid queue", input: VALID_QUEUE, expected: true },
  { name: "org_id boolean", input: INVALID_ORG_ID, expected: false, path: "org_id" },
  { name: "no id, user_id int, extra envelope key", input: withEnvelope({ id: undefined, user_id: 7, trace: "x" }), expected: true },
  { name: "org_id 0", input: withEnvelope({ org_id: 0 }), expected: true },
  { name: "org_id max safe int", input: withEnvelope({ org_id: Number.MAX_SAFE_INTEGER }), expected: true },
  { name: "org_id 2^53", input: withEnvelope({ org_id: 2 ** 53 }), expected: false, path: "org_id" },
  { name: "org_id -1", input: withEnvelope({ org_id: -1 }), expected: false, path: "org_id" },
  { name: "org_id 1.5", input: withEnvelope({ org_id: 1.5 }), expected: false, path: "org_id" },
  { name: "org_id bad chars", input: withEnvelope({ org_id: "acme esports" }), expected: false, path: "org_id" },
  { name: "org_id 129 chars", input: withEnvelope({ org_id: "a".repeat(129) }), expected: false, path: "org_id" },
  { name: "org_id null", input: withEnvelope({ org_id: null }), expected: false, path: "org_id" },
  { name: "org_id missing", input: withEnvelope({ org_id: undefined }), expected: false, path: "org_id" },
  { name: "id bad chars", input: withEnvelope({ id: "a/b" }), expected: false, path: "id" },
  { name: "user_id bad", input: withEnvelope({ user_id: "a b" }), expected: false, path: "user_id" },
  { name: "type one word", input: withEnvelope({ type: "ticket" }), expected: false, path: "type" },
  { name: "type upper case", input: withEnvelope({ type: "Ticket.sold" }), expected: false, path: "type" },
  { name: "type 129 chars", input: withEnvelope({ type: `a.${"b".repeat(127)}` }), expected: false, path: "type" },
  { name: "unknown type, any payload", input: withEnvelope({ type: "ticket.sold.v2", payload: { x: 1 } }), expected: true },
  { name: "payload array", input: withEnvelope({ type: "ticket.sold", payload: [] }), expected: false, path: "payload" },
  { name: "payload null", input: withEnvelope({ payload: null }), expected: false, path: "payload" },
  { name: "root not object", input: "hello", expected: false, path: "" },
  { name: "tournament_id int", input: withEnvelope({ payload: { tournament_id: 12 } }), expected: true },
  {
    name: "tournament_id missing",
    input: withEnvelope({ payload: { id: "m1" } }),
    expected: false,
    path: "payload.tournament_id",
  },
  {
    name: "tournament status not string",
    input: withEnvelope({ payload: { tournament_id: "t", status: 1 } }),
    expected: false,
    path: "payload.status",
  },
  { name: "queue missing", input: json({ ...VALID_QUEUE, payload: {} }), expected: false, path: "payload.queue" },
  { name: "queue status unknown", input: withQueue({ status: "paused" }), expected: false, path: "payload.queue.status" },
  { name: "queue capacity 0", input: withQueue({ capacity: 0 }), expected: false, path: "payload.queue.capacity" },
  { name: "queue capacity 101", input: withQueue({ capacity: 101 }), expected: false, path: "payload.queue.capacity" },
  { name: "queue capacity 100", input: withQueue({ capacity: 100 }), expected: true },
  { name: "queue deadline null", input: withQueue({ check_in_deadline: null }), expected: true },
  {
    name: "queue deadline string",
    input: withQueue({ check_in_deadline: "soon" }),
    expected: false,
    path: "payload.queue.check_in_deadline",
  },
  { name: "queue version -1", input: withQueue({ version: -1 }), expected: false, path: "payload.queue.version" },
  {
    name: "queue 101 players",
    input: withQueue({ players: Array.from({ length: 101 }, (_, i) => ({ user_id: `u${i}`, checked_in: false })) }),
    expected: false,
    path: "payload.queue.players",
  },
  {
    name: "queue player checked_in string",
    input: withQueue({ players: player({ checked_in: "yes" }) }),
    expected: false,
    path: "payload.queue.players.0.checked_in",
  },
  { name: "queue player extra key", input: withQueue({ players: player({ nick: "x" }) }), expected: true },
];
