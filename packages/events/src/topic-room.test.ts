import { describe, expect, it } from "vitest";
import { BUILTIN_NAMESPACES, TopicRegistry } from "./topic-registry.js";
import { roomOf, topicOfRoom } from "./topic-room.js";

describe("roomOf", () => {
  it("scopes a user-scoped topic by org, so one sub in two orgs gets two rooms", () => {
    expect(roomOf("notifications:7", "user", "42")).toBe("notifications:7@42");
    expect(roomOf("notifications:7", "user", "43")).not.toBe(roomOf("notifications:7", "user", "42"));
  });

  it("holds no brace (a room is its topic's Redis hash tag), and org ids still map one-to-one", () => {
    const orgs = ["a{b}", "a%7Bb}", "a%257Bb}", "{}", "%", "%25", "auth0|x"];
    const rooms = orgs.map((org) => roomOf("notifications:7", "user", org));
    for (const room of rooms) expect(room).not.toMatch(/[{}]/);
    expect(new Set(rooms).size).toBe(orgs.length);
    expect(roomOf("notifications:7", "user", "a{b}")).toBe("notifications:7@a%7Bb%7D");
  });

  it("leaves org-scoped and open topics as they are", () => {
    expect(roomOf("org:42", "org", "42")).toBe("org:42");
    expect(roomOf("tournament:9", "authenticated", "42")).toBe("tournament:9");
  });

  it("gives the topic back from every room, and no topic parses with the org mark in it", () => {
    const registry = new TopicRegistry();
    for (const { name, scope } of BUILTIN_NAMESPACES) {
      const topic = `${name}:7`;
      expect(topicOfRoom(roomOf(topic, scope, "o.1-x"))).toBe(topic);
      expect(() => registry.parse(roomOf(topic, "user", "42"))).toThrow();
    }
  });
});
