import { describe, expect, it } from "vitest";
import type { Decision, EntityEmission } from "../../machine.js";
import type { Huddle } from "./huddle.js";
import { huddleMachine } from "./machine.js";

const GRACE = 10_000;
const EMPTY = 300_000;
const T0 = 1_000_000;
const huddles = huddleMachine({ graceMs: GRACE });

function ok(decision: Decision<Huddle>): { state: Huddle | null; emissions: EntityEmission[]; unchanged: boolean } {
  if (!decision.ok) throw new Error(`refused: ${decision.code} ${decision.reason}`);
  return { state: decision.state, emissions: decision.emissions, unchanged: decision.unchanged === true };
}

function next(decision: Decision<Huddle>): Huddle {
  const { state } = ok(decision);
  if (state === null) throw new Error("the huddle ended");
  return state;
}

function refused(decision: Decision<Huddle>): string {
  if (decision.ok) throw new Error("expected a refusal");
  return decision.code;
}

const base = { huddle_id: "h1", org_id: "o1" };
const create = (max = 10) => next(huddles.decide(null, { type: "create", ...base, by: "alice", conversation_id: "conv", max }, T0));
const join = (h: Huddle, by: string, connection = `n1/${by}`, at = T0) => huddles.decide(h, { type: "join", ...base, by, connection }, at);
/** A huddle with these users joined, one connection each (`n1/<user>`). */
const withUsers = (...users: string[]) => users.reduce((h, u) => next(join(h, u)), create());
const toggle = (h: Huddle, by: string, what: "audio" | "video" | "screen" | "hand", enabled: boolean) =>
  huddles.decide(h, { type: "toggle", ...base, by, what, enabled }, T0 + 1);
const disconnect = (h: Huddle, by: string, connection = `n1/${by}`, at = T0 + 100) =>
  huddles.decide(h, { type: "disconnect", ...base, by, connection }, at);
const participant = (h: Huddle, user: string) => h.participants.find((p) => p.user_id === user);

describe("huddle machine: create", () => {
  it("creates an empty huddle of the conversation", () => {
    expect(create(7)).toEqual({
      id: "h1",
      org_id: "o1",
      conversation_id: "conv",
      created_by: "alice",
      created_at: T0,
      max: 7,
      participants: [],
      screen: null,
      empty_since: T0,
      seq: 0,
    });
  });

  it("answers the conversation's existing huddle unchanged; another org is forbidden", () => {
    const h = withUsers("alice");
    const again = ok(
      huddles.decide(h, { type: "create", huddle_id: "h2", by: "bob", org_id: "o1", conversation_id: "conv", max: 3 }, T0 + 5),
    );
    expect(again).toEqual({ state: h, emissions: [], unchanged: true });
    expect(
      refused(huddles.decide(h, { type: "create", huddle_id: "h2", by: "eve", org_id: "o2", conversation_id: "conv", max: 3 }, T0)),
    ).toBe("forbidden");
  });
});

describe("huddle machine: join", () => {
  it("adds a participant and tells everyone", () => {
    const { state, emissions } = ok(join(create(), "alice", "n1/s1", T0 + 5));
    expect(state?.participants).toEqual([
      {
        user_id: "alice",
        joined_at: T0 + 5,
        audio: true,
        video: false,
        screen: false,
        hand: false,
        connections: ["n1/s1"],
        away_since: null,
      },
    ]);
    expect(state?.empty_since).toBeNull();
    expect(emissions).toEqual([
      {
        id: expect.any(String),
        org_id: "o1",
        topic: "huddle:h1",
        event: "huddle:participant:joined",
        data: {
          huddle_id: "h1",
          participant: {
            user_id: "alice",
            joined_at: T0 + 5,
            audio: true,
            video: false,
            screen: false,
            hand: false,
            away_since: null,
            away: false,
          },
        },
      },
    ]);
  });

  it("refuses past max, another org, and a different huddle id", () => {
    const full = next(join(next(join(create(2), "alice")), "bob"));
    expect(refused(join(full, "carol"))).toBe("huddle_full");
    expect(refused(huddles.decide(create(), { type: "join", ...base, org_id: "o2", by: "eve", connection: "n1/e" }, T0))).toBe("forbidden");
    expect(refused(huddles.decide(create(), { type: "join", ...base, huddle_id: "h0", by: "bob", connection: "n1/b" }, T0))).toBe(
      "not_found",
    );
    expect(refused(huddles.decide(null, { type: "join", ...base, by: "bob", connection: "n1/b" }, T0))).toBe("not_found");
  });

  it("a second connection of the same user adds it with no event; the same connection again is unchanged", () => {
    const h = withUsers("alice");
    const second = ok(join(h, "alice", "n2/s9"));
    expect(second.emissions).toEqual([]);
    expect(participant(second.state as Huddle, "alice")?.connections).toEqual(["n1/alice", "n2/s9"]);
    expect(ok(join(h, "alice")).unchanged).toBe(true);
  });

  it("rejoining while away clears away_since and tells everyone they are back (even at max)", () => {
    const away = next(disconnect(withUsers("alice", "bob"), "bob"));
    expect(participant(away, "bob")?.away_since).toBe(T0 + 100);
    const back = ok(join({ ...away, max: 2 }, "bob", "n3/new"));
    expect(back.emissions.map((e) => [e.event, e.data])).toEqual([
      ["huddle:participant:updated", { huddle_id: "h1", participant: expect.objectContaining({ user_id: "bob", away: false }) }],
    ]);
    expect(participant(back.state as Huddle, "bob")).toMatchObject({ away_since: null, connections: ["n3/new"] });
  });
});

describe("huddle machine: leave", () => {
  it("tells everyone who left and releases their screen", () => {
    const sharing = next(toggle(withUsers("alice", "bob"), "bob", "screen", true));
    expect(sharing.screen).toBe("bob");
    const { state, emissions } = ok(huddles.decide(sharing, { type: "leave", ...base, by: "bob" }, T0 + 2));
    expect(state?.participants.map((p) => p.user_id)).toEqual(["alice"]);
    expect(state?.screen).toBeNull();
    expect(emissions.map((e) => [e.event, e.data])).toEqual([["huddle:participant:left", { huddle_id: "h1", user_id: "bob" }]]);
  });

  it("the last one out ends the huddle: state null and huddle:ended", () => {
    const { state, emissions } = ok(huddles.decide(withUsers("alice"), { type: "leave", ...base, by: "alice" }, T0 + 2));
    expect(state).toBeNull();
    expect(emissions.map((e) => e.event)).toEqual(["huddle:participant:left", "huddle:ended"]);
    expect(emissions.every((e) => e.topic === "huddle:h1")).toBe(true);
  });

  it("from one of two tabs: only that connection leaves, silently; from the last tab the participant leaves", () => {
    const twoTabs = next(join(withUsers("alice", "bob"), "bob", "n2/tab2"));
    const one = ok(huddles.decide(twoTabs, { type: "leave", ...base, by: "bob", connection: "n1/bob" }, T0 + 2));
    expect(one.emissions).toEqual([]);
    expect(participant(one.state as Huddle, "bob")).toMatchObject({ connections: ["n2/tab2"], away_since: null });
    const last = ok(huddles.decide(one.state, { type: "leave", ...base, by: "bob", connection: "n2/tab2" }, T0 + 3));
    expect(last.state?.participants.map((p) => p.user_id)).toEqual(["alice"]);
    expect(last.emissions.map((e) => e.event)).toEqual(["huddle:participant:left"]);
    // A connection that never joined leaves for the participant: they asked to go.
    const elsewhere = ok(huddles.decide(twoTabs, { type: "leave", ...base, by: "bob", connection: "n9/other" }, T0 + 2));
    expect(elsewhere.state?.participants.map((p) => p.user_id)).toEqual(["alice"]);
  });

  it("refuses someone who is not a participant", () => {
    expect(refused(huddles.decide(withUsers("alice"), { type: "leave", ...base, by: "bob" }, T0))).toBe("forbidden");
  });
});

describe("huddle machine: toggles", () => {
  for (const what of ["audio", "video", "hand"] as const) {
    it(`${what}: updated for everyone, unchanged when already so`, () => {
      const h = withUsers("alice", "bob");
      const value = !participant(h, "bob")?.[what];
      const { state, emissions } = ok(toggle(h, "bob", what, value));
      expect(participant(state as Huddle, "bob")?.[what]).toBe(value);
      expect(participant(state as Huddle, "alice")).toEqual(participant(h, "alice"));
      expect(emissions).toHaveLength(1);
      expect(emissions[0]).toMatchObject({
        topic: "huddle:h1",
        event: "huddle:participant:updated",
        data: { huddle_id: "h1", participant: { user_id: "bob", [what]: value } },
      });
      expect(emissions[0]?.data.participant).not.toHaveProperty("connections");
      expect(ok(toggle(state as Huddle, "bob", what, value))).toEqual({ state, emissions: [], unchanged: true });
    });
  }

  it("one screen share at a time: a second sharer gets screen_share_taken; stop releases it", () => {
    const sharing = next(toggle(withUsers("alice", "bob"), "alice", "screen", true));
    expect(sharing.screen).toBe("alice");
    expect(refused(toggle(sharing, "bob", "screen", true))).toBe("screen_share_taken");
    // The holder asking again is unchanged, not refused.
    expect(ok(toggle(sharing, "alice", "screen", true)).unchanged).toBe(true);
    const stopped = next(toggle(sharing, "alice", "screen", false));
    expect(stopped.screen).toBeNull();
    expect(next(toggle(stopped, "bob", "screen", true)).screen).toBe("bob");
  });

  it("the holder's last connection closing releases the screen and tells everyone", () => {
    const sharing = next(toggle(withUsers("alice", "bob"), "alice", "screen", true));
    const { state, emissions } = ok(disconnect(sharing, "alice"));
    expect(state?.screen).toBeNull();
    expect(participant(state as Huddle, "alice")).toMatchObject({ screen: false, away_since: T0 + 100 });
    expect(emissions).toEqual([
      expect.objectContaining({
        event: "huddle:participant:updated",
        data: expect.objectContaining({ participant: expect.objectContaining({ user_id: "alice", screen: false, away: true }) }),
      }),
    ]);
    expect(next(toggle(state as Huddle, "bob", "screen", true)).screen).toBe("bob");
  });
});

describe("huddle machine: message", () => {
  it("participants only; everyone gets the message", () => {
    const h = withUsers("alice");
    expect(refused(huddles.decide(h, { type: "message", ...base, by: "bob", text: "hi", message_id: "m1" }, T0))).toBe("forbidden");
    const { emissions } = ok(huddles.decide(h, { type: "message", ...base, by: "alice", text: "hi", message_id: "m1" }, T0 + 9));
    expect(emissions).toEqual([
      expect.objectContaining({
        topic: "huddle:h1",
        event: "huddle:message:new",
        data: { huddle_id: "h1", message_id: "m1", user_id: "alice", text: "hi", ts: T0 + 9 },
      }),
    ]);
  });
});

describe("huddle machine: invite", () => {
  it("each invitee's notifications topic gets huddle:invited with a push; repeated ids once", () => {
    const { emissions } = ok(
      huddles.decide(withUsers("alice"), { type: "invite", ...base, by: "alice", user_ids: ["bob", "carol", "bob"] }, T0),
    );
    expect(emissions.map((e) => e.topic)).toEqual(["notifications:bob", "notifications:carol"]);
    for (const e of emissions) {
      const user = e.topic.slice("notifications:".length);
      expect(e).toMatchObject({
        org_id: "o1",
        event: "huddle:invited",
        data: { huddle_id: "h1", conversation_id: "conv", by: "alice" },
        push: { kind: "huddle_invite", user_id: user },
      });
    }
    expect(new Set(emissions.map((e) => e.id)).size).toBe(2);
  });

  it("a service invites with by null, without being a participant; a user must be one", () => {
    const { emissions } = ok(huddles.decide(create(), { type: "invite", ...base, by: null, user_ids: ["bob"] }, T0));
    expect(emissions).toEqual([
      expect.objectContaining({ topic: "notifications:bob", data: { huddle_id: "h1", conversation_id: "conv", by: null } }),
    ]);
    expect(refused(huddles.decide(create(), { type: "invite", ...base, by: "mallory", user_ids: ["bob"] }, T0))).toBe("forbidden");
  });
});

describe("huddle machine: disconnect", () => {
  it("the last connection makes the participant away (no event when not sharing)", () => {
    const { state, emissions } = ok(disconnect(withUsers("alice", "bob"), "bob"));
    expect(participant(state as Huddle, "bob")).toMatchObject({ connections: [], away_since: T0 + 100 });
    expect(emissions).toEqual([]);
  });

  it("with other connections left the participant stays, not away", () => {
    const h = next(join(withUsers("alice"), "alice", "n2/other"));
    const { state, emissions } = ok(disconnect(h, "alice"));
    expect(participant(state as Huddle, "alice")).toMatchObject({ connections: ["n2/other"], away_since: null });
    expect(emissions).toEqual([]);
    expect(ok(disconnect(state as Huddle, "alice", "n9/unknown")).unchanged).toBe(true);
  });
});

describe("huddle machine: deadlines and expiry", () => {
  it("removes participants away past the grace period, and only those", () => {
    let h = withUsers("alice", "bob", "carol");
    h = next(disconnect(h, "bob", "n1/bob", T0 + 100));
    h = next(disconnect(h, "carol", "n1/carol", T0 + 5_000));
    expect(huddles.deadlineOf(h)).toBe(T0 + 100 + GRACE);
    const { state, emissions } = ok(huddles.expire(h, T0 + 100 + GRACE));
    expect(state?.participants.map((p) => p.user_id)).toEqual(["alice", "carol"]);
    expect(emissions.map((e) => [e.event, e.data.user_id])).toEqual([["huddle:participant:left", "bob"]]);
    expect(huddles.deadlineOf(state as Huddle)).toBe(T0 + 5_000 + GRACE);
  });

  it("ends the huddle when the last away participant is removed", () => {
    const h = next(disconnect(withUsers("alice"), "alice", "n1/alice", T0 + 100));
    const { state, emissions } = ok(huddles.expire(h, T0 + 100 + GRACE));
    expect(state).toBeNull();
    expect(emissions.map((e) => e.event)).toEqual(["huddle:participant:left", "huddle:ended"]);
  });

  it("an empty, never-joined huddle ends after emptyMs", () => {
    const h = create();
    expect(huddles.deadlineOf(h)).toBe(T0 + EMPTY);
    expect(huddleMachine({ graceMs: GRACE, emptyMs: 5 }).deadlineOf(h)).toBe(T0 + 5);
    const { state, emissions } = ok(huddles.expire(h, T0 + EMPTY));
    expect(state).toBeNull();
    expect(emissions).toEqual([expect.objectContaining({ topic: "huddle:h1", event: "huddle:ended", data: { huddle_id: "h1" } })]);
  });

  it("a huddle with everyone connected has no deadline, and nothing to expire", () => {
    const h = withUsers("alice", "bob");
    expect(huddles.deadlineOf(h)).toBeNull();
    expect(refused(huddles.expire(h, T0 + EMPTY * 10))).toBe("bad_request");
    expect(huddles.retainMs(h)).toBeNull();
  });
});

describe("huddle machine: emission ids", () => {
  it("are distinct per change and per recipient", () => {
    let h = withUsers("alice", "bob");
    const ids: string[] = [];
    const take = (d: Decision<Huddle>) => {
      const r = ok(d);
      ids.push(...r.emissions.map((e) => e.id));
      return r.state as Huddle;
    };
    h = take(toggle(h, "alice", "hand", true));
    h = take(toggle(h, "bob", "hand", true));
    h = take(toggle(h, "alice", "hand", false));
    h = take(huddles.decide(h, { type: "message", ...base, by: "bob", text: "a", message_id: "m1" }, T0));
    h = take(huddles.decide(h, { type: "message", ...base, by: "bob", text: "b", message_id: "m2" }, T0));
    take(huddles.decide(h, { type: "invite", ...base, by: "bob", user_ids: ["x", "y"] }, T0));
    take(huddles.decide(h, { type: "leave", ...base, by: "bob" }, T0));
    expect(ids).toHaveLength(8);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
