import { describe, expect, it } from "vitest";
import { PublishError, type PublishErrorCode } from "./hub-error.js";
import { parseProducerEvent } from "./producer-event.js";
import { ROUTES, type Route, Router, toEnvelope } from "./routing.js";

const router = new Router();

function route(raw: unknown) {
  return router.route(parseProducerEvent(raw));
}

function expectPublishError(raw: unknown, code: PublishErrorCode): PublishError {
  const event = parseProducerEvent(raw);
  try {
    router.route(event);
  } catch (error) {
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).code).toBe(code);
    return error as PublishError;
  }
  throw new Error("expected a PublishError, nothing was thrown");
}

describe("Router: the contract's routing table", () => {
  it("refuses with no_route an event whose topic would be longer than a topic may be (two 128-character ids)", () => {
    const id = "a".repeat(128);
    expect(() => new Router().route(parseProducerEvent({ type: "staff.department.a", org_id: id, payload: { uuid: id } }))).toThrow(
      expect.objectContaining({ code: "no_route", message: expect.stringContaining("longer than 256") }),
    );
  });

  it("notification.created -> notifications:{user_id}, notification.created, { notification }", () => {
    const payload = { id: 5, title: "You were hired", read: false };
    expect(route({ type: "notification.created", org_id: "42", user_id: "7", payload })).toEqual([
      { topic: "notifications:7", clientEvent: "notification.created", data: { notification: payload } },
    ]);
  });

  it("tournament_match.confirmed -> tournament:{payload.tournament_id}, match_confirmed, { match }", () => {
    const payload = { id: 3, tournament_id: "t-1", home: "A", away: "B" };
    expect(route({ type: "tournament_match.confirmed", org_id: "42", payload })).toEqual([
      { topic: "tournament:t-1", clientEvent: "match_confirmed", data: { match: payload } },
    ]);
  });

  it("tournament_match.walkover -> tournament:{payload.tournament_id}, match_walkover, { match }", () => {
    const payload = { id: 4, tournament_id: "t-1", winner: "A" };
    expect(route({ type: "tournament_match.walkover", org_id: "42", payload })).toEqual([
      { topic: "tournament:t-1", clientEvent: "match_walkover", data: { match: payload } },
    ]);
  });

  it("inhouse.queue_updated -> inhouse:{org_id}, queue_updated, payload as is", () => {
    const payload = { queue: { id: "q1", status: "open", players: [] } };
    expect(route({ type: "inhouse.queue_updated", org_id: "42", payload })).toEqual([
      { topic: "inhouse:42", clientEvent: "queue_updated", data: payload },
    ]);
  });

  it("inhouse.check_in_expired -> inhouse:{org_id}, check_in_expired, payload as is", () => {
    const payload = { queue: { id: "q1", status: "open" }, removed: ["u1", "u2"] };
    expect(route({ type: "inhouse.check_in_expired", org_id: "42", payload })).toEqual([
      { topic: "inhouse:42", clientEvent: "check_in_expired", data: payload },
    ]);
  });

  it("inhouse.session_started -> inhouse:{org_id}, session_started, payload as is", () => {
    const payload = { queue: { id: "q1", status: "in_session" } };
    expect(route({ type: "inhouse.session_started", org_id: "42", payload })).toEqual([
      { topic: "inhouse:42", clientEvent: "session_started", data: payload },
    ]);
  });

  it.each([
    ["scrim_request.created"],
    ["scrim_request.accepted"],
    ["team_goal.completed"],
    ["player.updated"],
    ["player.rank.changed"],
    ["roster.player_hired"],
    ["roster.player_released"],
  ])("%s -> org:{org_id}, the type itself as client event, payload as is", (type) => {
    const payload = { anything: [1, 2, 3], nested: { ok: true } };
    expect(route({ type, org_id: "42", payload })).toEqual([{ topic: "org:42", clientEvent: type, data: payload }]);
  });

  it("delivers to the event's own org, never another", () => {
    const payload = { a: 1 };
    expect(route({ type: "roster.player_hired", org_id: "acme", payload })[0]?.topic).toBe("org:acme");
    expect(route({ type: "inhouse.queue_updated", org_id: "acme", payload })[0]?.topic).toBe("inhouse:acme");
  });

  it("does not wrap or copy the payload of as-is routes", () => {
    const payload = { queue: { id: "q1" } };
    const [delivery] = route({ type: "inhouse.queue_updated", org_id: "42", payload });
    expect(delivery?.data).toStrictEqual(payload);
    expect(delivery?.data).not.toHaveProperty("notification");
    expect(delivery?.data).not.toHaveProperty("match");
  });
});

describe("Router: integer ids", () => {
  it("normalizes org_id 42 to org:42", () => {
    expect(route({ type: "roster.player_hired", org_id: 42, payload: {} })).toEqual([
      { topic: "org:42", clientEvent: "roster.player_hired", data: {} },
    ]);
    expect(route({ type: "inhouse.queue_updated", org_id: 42, payload: { queue: {} } })[0]?.topic).toBe("inhouse:42");
  });

  it("normalizes payload.tournament_id 7 to tournament:7 and leaves the payload untouched", () => {
    const payload = { id: 1, tournament_id: 7 };
    const [delivery] = route({ type: "tournament_match.confirmed", org_id: 42, payload });
    expect(delivery?.topic).toBe("tournament:7");
    expect(delivery?.data).toEqual({ match: { id: 1, tournament_id: 7 } });
  });

  it("normalizes user_id 9 to notifications:9", () => {
    expect(route({ type: "notification.created", org_id: 42, user_id: 9, payload: {} })[0]?.topic).toBe("notifications:9");
  });

  it("normalizes id 0", () => {
    expect(route({ type: "tournament_match.walkover", org_id: 0, payload: { tournament_id: 0 } })[0]?.topic).toBe("tournament:0");
  });
});

describe("Router: versioned types", () => {
  it("routes roster.player_hired.v2 by its family and keeps the full type as client event", () => {
    expect(route({ type: "roster.player_hired.v2", org_id: 42, payload: { p: 1 } })).toEqual([
      { topic: "org:42", clientEvent: "roster.player_hired.v2", data: { p: 1 } },
    ]);
  });

  it("resolves tournament_match.confirmed.v2 to the base route", () => {
    const payload = { tournament_id: 7 };
    expect(route({ type: "tournament_match.confirmed.v2", org_id: 42, payload })).toEqual([
      { topic: "tournament:7", clientEvent: "match_confirmed", data: { match: payload } },
    ]);
    expect(router.find("tournament_match.confirmed.v2")).toBe(router.find("tournament_match.confirmed"));
  });

  it.each([
    ["notification.created.v3", "notification.created"],
    ["inhouse.queue_updated.v12", "inhouse.queue_updated"],
    ["tournament_match.walkover.v2", "tournament_match.walkover"],
  ])("resolves %s to the route of %s", (versioned, base) => {
    const found = router.find(versioned);
    expect(found).toBeDefined();
    expect(found).toBe(router.find(base));
  });

  it("strips only a trailing version suffix", () => {
    expect(router.find("tournament_match.confirmed.v2.extra")).toBeUndefined();
    expect(router.find("tournament_match.confirmedv2")).toBeUndefined();
  });
});

describe("Router: refusals", () => {
  it.each([
    ["ticket.sold"],
    ["ticket.sold.v2"],
    ["notification.deleted"],
    ["inhouse.unknown"],
    ["scrim.created"],
    ["rosters.player_hired"],
  ])("%s has no route: unknown_type", (type) => {
    const error = expectPublishError({ type, org_id: 42, payload: {} }, "unknown_type");
    expect(error.message).toContain(type);
  });

  it("does not match a family by a bare prefix without the dot", () => {
    expect(router.find("roster_extra.thing")).toBeUndefined();
    expect(router.find("player_stats.updated")).toBeUndefined();
  });

  it("notification.created without user_id: no_route", () => {
    expectPublishError({ type: "notification.created", org_id: 42, payload: { title: "x" } }, "no_route");
  });

  it("notification.created with user_id null: no_route", () => {
    expectPublishError({ type: "notification.created", org_id: 42, user_id: null, payload: {} }, "no_route");
  });

  it.each(["tournament_match.confirmed", "tournament_match.walkover", "tournament_match.confirmed.v2"])(
    "%s without payload.tournament_id: no_route",
    (type) => {
      expectPublishError({ type, org_id: 42, payload: { id: 1 } }, "no_route");
    },
  );

  it.each([[null], [""], [-1], [1.5], ["a b"], [{ id: 7 }], [[7]], [true]])(
    "tournament_match.confirmed with the unusable tournament_id %j: no_route",
    (tournamentId) => {
      expectPublishError({ type: "tournament_match.confirmed", org_id: 42, payload: { tournament_id: tournamentId } }, "no_route");
    },
  );
});

describe("Router: custom routes", () => {
  it("uses only the routes it is given", () => {
    const ticketRoute: Route = {
      match: "ticket.sold",
      clientEvent: "ticket_sold",
      topics: (e) => [`org:${e.org_id}`, `tournament:${String(e.payload.tournament_id)}`],
      data: (e) => ({ ticket: e.payload }),
    };
    const custom = new Router([ticketRoute]);
    const event = parseProducerEvent({ type: "ticket.sold.v2", org_id: 1, payload: { tournament_id: 3 } });
    const data = { ticket: { tournament_id: 3 } };
    expect(custom.route(event)).toEqual([
      { topic: "org:1", clientEvent: "ticket_sold", data },
      { topic: "tournament:3", clientEvent: "ticket_sold", data },
    ]);
    expect(custom.find("roster.player_hired")).toBeUndefined();
  });

  it("ROUTES covers every type of the contract's table, plus the scraper's match.* and the staff family", () => {
    expect(ROUTES.map((r) => r.match).sort()).toEqual(
      [
        "inhouse.check_in_expired",
        "inhouse.queue_updated",
        "inhouse.session_started",
        "match.*",
        "notification.created",
        "player.*",
        "roster.*",
        "scrim_request.*",
        "staff.department.*",
        "staff.membership.*",
        "staff.person.*",
        "staff.team.*",
        "team_goal.*",
        "tournament_match.confirmed",
        "tournament_match.walkover",
      ].sort(),
    );
  });
});

describe("toEnvelope", () => {
  it("builds the client envelope of one delivery", () => {
    const event = parseProducerEvent({ id: "evt-1", type: "roster.player_hired", org_id: 42, payload: { p: 1 } });
    const [delivery] = router.route(event);
    if (!delivery) throw new Error("no delivery");
    expect(toEnvelope({ ...event, id: "evt-1" }, delivery, 1_700_000_000_000)).toEqual({
      id: "evt-1",
      type: "roster.player_hired",
      topic: "org:42",
      org_id: "42",
      data: { p: 1 },
      ts: 1_700_000_000_000,
    });
  });
});
