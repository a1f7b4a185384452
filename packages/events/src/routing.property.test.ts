import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PublishError } from "./hub-error.js";
import { normalizeId } from "./ids.js";
import { parseProducerEvent } from "./producer-event.js";
import { ROUTES, Router } from "./routing.js";
import { SchemaRegistry } from "./schemas/schema-registry.js";
import { TopicRegistry } from "./topic-registry.js";

const router = new Router();
const topics = new TopicRegistry();
const schemas = new SchemaRegistry();

const validId = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/), fc.nat({ max: 1_000_000 }));
/** Ids as producers could send them: valid ones, and anything else a string or number can be. */
const id = fc.oneof(
  validId,
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.integer(),
  fc.double(),
  fc.bigInt().map((n) => Number(n)),
  // Topic separators and wildcards, around otherwise valid ids.
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9_.-]{0,6}$/),
      fc.constantFrom(":", "*", ":*", "*:", "::", ":org:1", "\n", " ", "/"),
      fc.stringMatching(/^[A-Za-z0-9_.-]{0,6}$/),
    )
    .map(([a, sep, b]) => a + sep + b),
  fc.constantFrom(
    "",
    "a".repeat(128),
    "a".repeat(129),
    "0",
    "-1",
    "1e3",
    "NaN",
    "42 ",
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    -0,
    1.5,
  ),
);
const routedType = fc.oneof(
  fc.constantFrom(...ROUTES.filter((r) => !r.match.endsWith(".*")).map((r) => r.match)),
  fc
    .tuple(
      fc.constantFrom(...ROUTES.filter((r) => r.match.endsWith(".*")).map((r) => r.match.slice(0, -1))),
      fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/),
    )
    .map(([p, s]) => p + s),
);
/** Payloads that carry ids a router could be tempted to use, including other orgs'. */
const payload = fc.record(
  {
    tournament_id: id,
    uuid: id,
    department_uuid: id,
    team_uuid: id,
    person_uuid: id,
    org_id: id,
    user_id: id,
    queue: fc.record({
      id: fc.string({ minLength: 1, maxLength: 8 }),
      org_id: fc.string({ maxLength: 8 }),
      status: fc.constant("open"),
      players: fc.constant([]),
    }),
  },
  { requiredKeys: [] },
);
const event = fc.record({ type: routedType, org_id: id, user_id: fc.option(id, { nil: undefined }), payload });

describe("routing (property-based)", () => {
  it("never routes an event to a topic of another org or another user", () => {
    fc.assert(
      fc.property(event, (raw) => {
        let deliveries: ReturnType<Router["route"]>;
        try {
          deliveries = router.route(parseProducerEvent(raw));
        } catch (error) {
          if (error instanceof PublishError) return;
          throw error;
        }
        // Routed at all only with a valid org (and recipient, when it was given).
        const org = normalizeId(raw.org_id);
        expect(org).toBeDefined();
        if (raw.user_id !== undefined) expect(normalizeId(raw.user_id)).toBeDefined();
        for (const { topic } of deliveries) {
          const parsed = topics.parse(topic);
          if (parsed.namespace.scope === "org") expect(parsed.owner).toBe(org);
          if (parsed.namespace.scope === "user") expect(parsed.owner).toBe(normalizeId(raw.user_id));
          // The org's own topics name it as their first segment, so no other org can be reached.
          if (parsed.namespace.scope === "org") expect(topic.split(":")[1]).toBe(org);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses an invalid org_id or user_id, never routing it anywhere", () => {
    fc.assert(
      fc.property(event, (raw) => {
        const invalid = normalizeId(raw.org_id) === undefined || (raw.user_id !== undefined && normalizeId(raw.user_id) === undefined);
        fc.pre(invalid);
        expect(() => router.route(parseProducerEvent(raw))).toThrow(PublishError);
      }),
      { numRuns: 2000 },
    );
  });

  it("routes only to declared, well-formed topics", () => {
    fc.assert(
      fc.property(event, (raw) => {
        try {
          for (const { topic } of router.route(parseProducerEvent(raw))) expect(() => topics.parse(topic)).not.toThrow();
        } catch (error) {
          if (!(error instanceof PublishError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("validators (property-based)", () => {
  it("reject any input only with a PublishError, never anything else", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.jsonValue(),
          event.map((e) => ({ ...e, payload: fc.sample(fc.anything(), 1)[0] })),
        ),
        (raw) => {
          try {
            const parsed = parseProducerEvent(raw);
            schemas.validate(parsed);
            router.route({ ...parsed, payload: schemas.scrub(parsed) });
          } catch (error) {
            expect(error).toBeInstanceOf(PublishError);
            expect((error as PublishError).message.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("accept every well-formed event of a family and keep its ids as strings", () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.constantFrom("roster.player_hired", "player.transferred", "team_goal.completed"),
          org_id: validId,
          payload: fc.dictionary(fc.string(), fc.jsonValue()),
        }),
        (raw) => {
          const parsed = parseProducerEvent(raw);
          schemas.validate(parsed);
          expect(parsed.org_id).toBe(String(raw.org_id));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
