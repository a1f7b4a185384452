import { describe, expect, it } from "vitest";
import { ProtocolError, type ProtocolErrorCode } from "./hub-error.js";
import type { Principal, ServicePrincipal, UserPrincipal } from "./principal.js";
import {
  BUILTIN_NAMESPACES,
  DEFAULT_PRESENCE_EVENTS,
  MAX_TOPIC_LENGTH,
  type NamespaceSpec,
  type ParsedTopic,
  TopicRegistry,
} from "./topic-registry.js";

const MINUTE = 60_000;

function user(userId: string, orgId: string, roles: string[] = []): UserPrincipal {
  return { kind: "user", userId, orgId, roles, exp: 2_000_000_000 };
}

const service: ServicePrincipal = { kind: "service", service: "billing", exp: 2_000_000_000 };

/** Runs `fn` and returns the ProtocolError it throws; fails the test when it does not throw one. */
function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error("expected a ProtocolError, nothing was thrown");
}

function expectParseError(registry: TopicRegistry, topic: unknown, code: ProtocolErrorCode): ProtocolError {
  const error = protocolError(() => registry.parse(topic));
  expect(error.code).toBe(code);
  expect(error.message).not.toBe("");
  return error;
}

function mayAccess(registry: TopicRegistry, principal: Principal, topic: string): boolean {
  const parsed = registry.parse(topic);
  try {
    registry.authorize(principal, parsed);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("forbidden");
    return false;
  }
}

describe("TopicRegistry built-in namespaces", () => {
  it("declares notifications, inhouse, org, tournament and staff with their history windows", () => {
    const registry = new TopicRegistry();
    expect(
      registry
        .namespaces()
        .map((n) => n.name)
        .sort(),
    ).toEqual(["chat", "huddle", "inhouse", "notifications", "org", "staff", "tournament", "webrtc"]);
    expect(registry.namespace("notifications")).toEqual({
      name: "notifications",
      scope: "user",
      maxSegments: 1,
      pattern: null,
      history: { ttlMs: 7 * 24 * 60 * MINUTE, size: 1000 },
      presence: false,
      presenceEvents: DEFAULT_PRESENCE_EVENTS,
      authorize: "scope",
      clientEvents: new Map(),
      streamed: false,
    });
    expect(registry.namespace("inhouse")).toMatchObject({ scope: "org", history: { ttlMs: 5 * MINUTE, size: 200 } });
    expect(registry.namespace("org")).toMatchObject({ scope: "org", history: { ttlMs: 5 * MINUTE, size: 200 } });
    expect(registry.namespace("tournament")).toMatchObject({ scope: "authenticated", history: { ttlMs: 10 * MINUTE, size: 200 } });
    // Seed 003's calls (a user's own topic) and huddles (participants only, kept per org).
    expect(registry.namespace("webrtc")).toMatchObject({ scope: "user", history: { ttlMs: 2 * MINUTE, size: 200 } });
    expect(registry.namespace("huddle")).toMatchObject({ scope: "authenticated", authorize: "member" });
    expect(registry.namespace("staff")).toMatchObject({ scope: "org", maxSegments: 3, history: { ttlMs: 5 * MINUTE, size: 200 } });
    expect(registry.namespace("chat")).toMatchObject({
      scope: "authenticated",
      authorize: "grant",
      history: { ttlMs: 7 * 24 * 60 * MINUTE, size: 1000 },
      presence: true,
      presenceEvents: { join: "user:online", leave: "user:offline" },
      streamed: true,
    });
    expect([...(registry.namespace("chat")?.clientEvents.keys() ?? [])]).toHaveLength(8);
    expect(BUILTIN_NAMESPACES).toHaveLength(8);
  });
});

describe("TopicRegistry.parse", () => {
  const registry = new TopicRegistry();

  it.each([
    ["notifications:user-1", "notifications", "user-1"],
    ["inhouse:org_42", "inhouse", "org_42"],
    ["org:acme.gg", "org", "acme.gg"],
    ["tournament:T-2024.spring_1", "tournament", "T-2024.spring_1"],
  ])("parses %s", (topic, namespace, id) => {
    const parsed = registry.parse(topic);
    expect(parsed.topic).toBe(topic);
    expect(parsed.namespace.name).toBe(namespace);
    expect(parsed.id).toBe(id);
    expect(parsed.owner).toBe(id);
  });

  it("keeps integer-looking ids as strings", () => {
    const parsed = registry.parse("org:42");
    expect(parsed.id).toBe("42");
    expect(parsed.owner).toBe("42");
    expect(typeof parsed.owner).toBe("string");
    expect(registry.parse("notifications:0").owner).toBe("0");
  });

  it("accepts an id of exactly 128 characters and refuses 129", () => {
    expect(registry.parse(`org:${"a".repeat(128)}`).id).toHaveLength(128);
    expectParseError(registry, `org:${"a".repeat(129)}`, "invalid_topic");
  });

  it("refuses the empty string", () => {
    expectParseError(registry, "", "invalid_topic");
  });

  it.each([[undefined], [null], [42], [{ topic: "org:1" }], [["org:1"]], [true]])("refuses the non-string %j", (value) => {
    expectParseError(registry, value, "invalid_topic");
  });

  it(`refuses topics longer than ${MAX_TOPIC_LENGTH} characters`, () => {
    const namespace = { name: "deep", scope: "authenticated", maxSegments: 3 } as const;
    const nested = new TopicRegistry([namespace]);
    // Three 83-character segments: every segment is valid, only the total length is not.
    const exact = `deep:${"a".repeat(83)}:${"b".repeat(83)}:${"c".repeat(83)}`;
    expect(exact).toHaveLength(MAX_TOPIC_LENGTH);
    expect(nested.parse(exact).topic).toBe(exact);
    const tooLong = `${exact}c`;
    expect(tooLong).toHaveLength(MAX_TOPIC_LENGTH + 1);
    const error = expectParseError(nested, tooLong, "invalid_topic");
    expect(error.message).toContain(String(MAX_TOPIC_LENGTH));
  });

  it.each([["org"], ["notifications"], ["org42"], ["org-42"]])("refuses %s, which has no colon", (topic) => {
    expectParseError(registry, topic, "invalid_topic");
  });

  it("refuses a topic starting with a colon (empty namespace)", () => {
    expectParseError(registry, ":42", "invalid_topic");
  });

  it.each([["Org:42"], ["ORG:42"], ["1org:42"], ["_org:42"], ["or-g:42"], ["or.g:42"], ["or g:42"], [`${"a".repeat(33)}:42`]])(
    "refuses %s, whose namespace is malformed",
    (topic) => {
      expectParseError(registry, topic, "invalid_topic");
    },
  );

  it.each([["payments:42"], ["notification:1"], ["orgs:1"]])("refuses %s with unknown_namespace", (topic) => {
    const error = expectParseError(registry, topic, "unknown_namespace");
    expect(error.message).toContain(topic.split(":")[0]);
  });

  it.each([["org:"], ["org:a b"], ["org:a/b"], ["org:a*"], ["org:ação"], ["org:#1"], ["org:a\n"], ["notifications:user@example.com"]])(
    "refuses %j, whose id has characters outside [A-Za-z0-9_.-]",
    (topic) => {
      expectParseError(registry, topic, "invalid_topic");
    },
  );

  it.each([["org:42:team"], ["notifications:1:2"], ["tournament:1:2:3"], ["inhouse:1:"]])(
    "refuses %s: built-in namespaces take one segment",
    (topic) => {
      expectParseError(registry, topic, "invalid_topic");
    },
  );

  describe("a namespace declared with maxSegments", () => {
    const staff = new TopicRegistry([{ name: "staff", scope: "org", maxSegments: 3 }]);

    it("accepts nested ids up to maxSegments; the owner is the first segment", () => {
      const parsed = staff.parse("staff:42:team:0190a3c2-7b1e-7d4f-9a2b-3c4d5e6f7a8b");
      expect(parsed.namespace.name).toBe("staff");
      expect(parsed.id).toBe("42:team:0190a3c2-7b1e-7d4f-9a2b-3c4d5e6f7a8b");
      expect(parsed.owner).toBe("42");
      expect(staff.parse("staff:42").owner).toBe("42");
      expect(staff.parse("staff:42:team").id).toBe("42:team");
    });

    it("refuses more segments than declared", () => {
      expectParseError(staff, "staff:42:team:x:y", "invalid_topic");
    });

    it("refuses an empty or malformed nested segment", () => {
      expectParseError(staff, "staff:42::x", "invalid_topic");
      expectParseError(staff, "staff:42:team:", "invalid_topic");
      expectParseError(staff, "staff:42:te am", "invalid_topic");
    });

    it("the built-in staff family takes only its shapes of id", () => {
      const builtin = new TopicRegistry();
      for (const topic of [
        "staff:42:teams",
        "staff:42:departments",
        "staff:42:people",
        "staff:42:team:t1",
        "staff:42:department:d1",
        "staff:42:person:p1",
      ]) {
        expect(builtin.parse(topic).owner).toBe("42");
      }
      for (const topic of ["staff:42", "staff:42:team", "staff:42:teams:x", "staff:42:squad:x"])
        expectParseError(builtin, topic, "invalid_topic");
      expect(mayAccess(builtin, user("7", "42"), "staff:42:team:t1")).toBe(true);
      expect(mayAccess(builtin, user("7", "42"), "staff:43:teams")).toBe(false);
    });

    it("does not make built-in namespaces accept nested ids", () => {
      expectParseError(staff, "org:42:team", "invalid_topic");
    });
  });
});

describe("TopicRegistry.authorize", () => {
  const registry = new TopicRegistry();

  describe("notifications (scope user)", () => {
    it("lets a user subscribe to their own notifications", () => {
      expect(mayAccess(registry, user("7", "42"), "notifications:7")).toBe(true);
      expect(mayAccess(registry, user("u-abc", "42"), "notifications:u-abc")).toBe(true);
    });

    it("refuses another user's notifications with forbidden", () => {
      const parsed = registry.parse("notifications:8");
      const error = protocolError(() => registry.authorize(user("7", "42"), parsed));
      expect(error.code).toBe("forbidden");
      expect(error.message).toContain("notifications:8");
    });

    it("does not let the org id stand in for the user id", () => {
      expect(mayAccess(registry, user("7", "42"), "notifications:42")).toBe(false);
    });

    it("compares ids exactly", () => {
      expect(mayAccess(registry, user("7", "42"), "notifications:07")).toBe(false);
      expect(mayAccess(registry, user("ab", "42"), "notifications:AB")).toBe(false);
      expect(mayAccess(registry, user("7", "42"), "notifications:77")).toBe(false);
    });
  });

  describe.each(["inhouse", "org"])("%s (scope org)", (namespace) => {
    it("lets a member subscribe to their own org's topic", () => {
      expect(mayAccess(registry, user("7", "42"), `${namespace}:42`)).toBe(true);
    });

    it("refuses another org's topic (cross-tenant) with forbidden", () => {
      const parsed = registry.parse(`${namespace}:43`);
      const error = protocolError(() => registry.authorize(user("7", "42"), parsed));
      expect(error.code).toBe("forbidden");
    });

    it("does not let the user id stand in for the org id", () => {
      expect(mayAccess(registry, user("43", "42"), `${namespace}:43`)).toBe(false);
    });

    it("ignores roles", () => {
      expect(mayAccess(registry, user("7", "42", ["admin", "owner"]), `${namespace}:43`)).toBe(false);
    });
  });

  describe("tournament (scope authenticated)", () => {
    it("lets any user subscribe, whatever their org", () => {
      expect(mayAccess(registry, user("7", "42"), "tournament:1")).toBe(true);
      expect(mayAccess(registry, user("8", "99"), "tournament:1")).toBe(true);
    });
  });

  describe("service principals", () => {
    it.each([["notifications:7"], ["inhouse:42"], ["org:43"], ["tournament:1"]])("may subscribe to %s", (topic) => {
      expect(mayAccess(registry, service, topic)).toBe(true);
    });

    it("may subscribe to topics of extra namespaces", () => {
      const extended = new TopicRegistry([
        { name: "staff", scope: "org", maxSegments: 3 },
        { name: "dm", scope: "user" },
      ]);
      expect(mayAccess(extended, service, "staff:42:team:x")).toBe(true);
      expect(mayAccess(extended, service, "dm:7")).toBe(true);
    });
  });
});

describe("TopicRegistry extra namespaces", () => {
  const extra: NamespaceSpec[] = [
    { name: "staff", scope: "org", maxSegments: 3, presence: true },
    { name: "dm", scope: "user", history: { ttlMs: MINUTE, size: 10 } },
    { name: "lobby", scope: "authenticated" },
  ];
  const registry = new TopicRegistry(extra);

  it("adds them next to the built-in ones, with defaults filled in", () => {
    expect(
      registry
        .namespaces()
        .map((n) => n.name)
        .sort(),
    ).toEqual(["chat", "dm", "huddle", "inhouse", "lobby", "notifications", "org", "staff", "tournament", "webrtc"]);
    expect(registry.namespace("lobby")).toEqual({
      name: "lobby",
      scope: "authenticated",
      maxSegments: 1,
      pattern: null,
      history: null,
      presence: false,
      presenceEvents: DEFAULT_PRESENCE_EVENTS,
      authorize: "scope",
      clientEvents: new Map(),
      streamed: false,
    });
    // Declared again by name, it replaces the built-in staff family entirely.
    expect(registry.namespace("staff")).toEqual({
      name: "staff",
      scope: "org",
      maxSegments: 3,
      pattern: null,
      history: null,
      presence: true,
      presenceEvents: DEFAULT_PRESENCE_EVENTS,
      authorize: "scope",
      clientEvents: new Map(),
      streamed: false,
    });
    expect(registry.namespace("dm")?.history).toEqual({ ttlMs: MINUTE, size: 10 });
  });

  it("does not leak into other registries", () => {
    expectParseError(new TopicRegistry(), "lobby:42", "unknown_namespace");
  });

  it("applies an org-scoped extra namespace by the first id segment", () => {
    expect(mayAccess(registry, user("7", "42"), "staff:42:team:abc")).toBe(true);
    expect(mayAccess(registry, user("7", "42"), "staff:43:team:abc")).toBe(false);
    // The org id appearing later in the id grants nothing.
    expect(mayAccess(registry, user("7", "42"), "staff:43:team:42")).toBe(false);
  });

  it("applies a user-scoped extra namespace by the token's sub", () => {
    expect(mayAccess(registry, user("7", "42"), "dm:7")).toBe(true);
    expect(mayAccess(registry, user("7", "42"), "dm:8")).toBe(false);
  });

  it("applies an authenticated extra namespace to any user", () => {
    expect(mayAccess(registry, user("7", "42"), "lobby:main")).toBe(true);
  });

  it("replaces a built-in namespace declared again by name", () => {
    const overridden = new TopicRegistry([{ name: "tournament", scope: "org", maxSegments: 2 }]);
    expect(overridden.namespaces().filter((n) => n.name === "tournament")).toHaveLength(1);
    expect(overridden.namespace("tournament")).toEqual({
      name: "tournament",
      scope: "org",
      maxSegments: 2,
      pattern: null,
      history: null,
      presence: false,
      presenceEvents: DEFAULT_PRESENCE_EVENTS,
      authorize: "scope",
      clientEvents: new Map(),
      streamed: false,
    });
    // Now scoped to the org and nested ids allowed.
    expect(mayAccess(overridden, user("7", "42"), "tournament:42:finals")).toBe(true);
    expect(mayAccess(overridden, user("7", "42"), "tournament:1")).toBe(false);
    // The others are untouched.
    expect(overridden.namespace("notifications")?.scope).toBe("user");
  });

  it("can open a built-in namespace to any user", () => {
    const opened = new TopicRegistry([{ name: "org", scope: "authenticated" }]);
    expect(mayAccess(opened, user("7", "42"), "org:43")).toBe(true);
  });

  it.each([[{ name: "Staff", scope: "org" }], [{ name: "st-aff", scope: "org" }], [{ name: "", scope: "org" }]] as Array<[NamespaceSpec]>)(
    "throws a TypeError for the invalid name in %j",
    (spec) => {
      expect(() => new TopicRegistry([spec])).toThrow(TypeError);
    },
  );

  it.each([[0], [9], [1.5], [-1]])("throws a TypeError for maxSegments %s", (maxSegments) => {
    expect(() => new TopicRegistry([{ name: "staff", scope: "org", maxSegments }])).toThrow(TypeError);
  });

  it("accepts maxSegments from 1 to 8", () => {
    const eight = new TopicRegistry([{ name: "deep", scope: "authenticated", maxSegments: 8 }]);
    expect(eight.parse("deep:1:2:3:4:5:6:7:8").owner).toBe("1");
    expectParseError(eight, "deep:1:2:3:4:5:6:7:8:9", "invalid_topic");
  });
});

describe("ParsedTopic", () => {
  it("carries the resolved namespace so callers can read its history policy", () => {
    const parsed: ParsedTopic = new TopicRegistry().parse("notifications:7");
    expect(parsed.namespace.history).toEqual({ ttlMs: 7 * 24 * 60 * MINUTE, size: 1000 });
  });
});

describe("TopicRegistry.namespaceOf", () => {
  it("finds a topic's declared namespace by its prefix, and nothing for an undeclared or malformed one", () => {
    const registry = new TopicRegistry();
    expect(registry.namespaceOf("org:42")?.history).toEqual({ ttlMs: 5 * 60_000, size: 200 });
    expect(registry.namespaceOf("staff:42:team:x")?.name).toBe("staff");
    for (const topic of ["match:1", ":42", "org", ""]) expect(registry.namespaceOf(topic)).toBeUndefined();
  });
});

describe("TopicRegistry grants and client events", () => {
  const registry = new TopicRegistry([
    {
      name: "room",
      scope: "authenticated",
      authorize: "grant",
      history: { ttlMs: 60_000, size: 10 },
      clientEvents: {
        "note:add": {
          kind: "durable",
          maxBytes: 64,
          schema: { type: "object", required: ["text"], properties: { text: { type: "string" } } },
        },
        poke: { kind: "ephemeral", deliverAs: "poked" },
      },
    },
  ]);
  const room = registry.namespace("room");

  it("compiles declared client events with their defaults and JSON Schemas", () => {
    expect(room?.streamed).toBe(true);
    expect(room?.clientEvents.get("poke")).toMatchObject({ kind: "ephemeral", deliverAs: "poked", maxBytes: 16 * 1024 });
    const note = room?.clientEvents.get("note:add");
    expect(note?.issues({ text: "x" })).toEqual([]);
    expect(note?.issues({ text: 1 })).toEqual(["data.text: must be string"]);
    expect(note?.issues({})[0]).toContain("text");
  });

  it("asks a user, not a service, for a grant on a grant namespace", () => {
    const topic = registry.parse("room:r1");
    expect(registry.needsGrant({ kind: "user", userId: "1", orgId: "o", roles: [], exp: 0 }, topic)).toBe(true);
    expect(registry.needsGrant({ kind: "service", service: "backend", exp: 0 }, topic)).toBe(false);
    expect(registry.needsGrant({ kind: "user", userId: "1", orgId: "o", roles: [], exp: 0 }, registry.parse("tournament:1"))).toBe(false);
  });

  it("refuses declarations it cannot honour, naming them", () => {
    expect(() => new TopicRegistry([{ name: "x", scope: "authenticated", clientEvents: { a: { kind: "durable" } } }])).toThrow(
      /durable client events need a history/,
    );
    expect(() => new TopicRegistry([{ name: "x", scope: "authenticated", clientEvents: { "A b": { kind: "ephemeral" } } }])).toThrow(
      /name must match/,
    );
    expect(
      () =>
        new TopicRegistry([{ name: "x", scope: "authenticated", clientEvents: { a: { kind: "ephemeral", schema: { type: "nope" } } } }]),
    ).toThrow(/not a valid JSON Schema/);
    // No regular expressions over client input (ReDoS): refused, wherever they are nested.
    const redos = { type: "object", properties: { text: { type: "string", pattern: "^(a+)+$" } } };
    expect(
      () => new TopicRegistry([{ name: "x", scope: "authenticated", clientEvents: { a: { kind: "ephemeral", schema: redos } } }]),
    ).toThrow(/may not use "pattern"/);
  });
});
