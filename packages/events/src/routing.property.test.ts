import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PublishError } from "./hub-error.js";
import { parseProducerEvent } from "./producer-event.js";
import { ROUTES, Router } from "./routing.js";
import { SchemaRegistry } from "./schemas/schema-registry.js";
import { TopicRegistry } from "./topic-registry.js";

const router = new Router();
const topics = new TopicRegistry();
const schemas = new SchemaRegistry();

const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/), fc.nat({ max: 1_000_000 }));
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
        for (const { topic } of deliveries) {
          const parsed = topics.parse(topic);
          if (parsed.namespace.scope === "org") expect(parsed.owner).toBe(String(raw.org_id));
          if (parsed.namespace.scope === "user") expect(parsed.owner).toBe(String(raw.user_id));
        }
      }),
      { numRuns: 3000 },
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
          org_id: id,
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
