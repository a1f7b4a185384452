import { describe, expect, it } from "vitest";
import { TopicRegistry } from "./topic-registry.js";
import { CLIENT_EVENT_BUCKETS, roomOf, roomTag, topicOfRoom } from "./topic-room.js";

const registry = new TopicRegistry();
const ns = (name: string) => {
  const namespace = registry.namespace(name);
  if (!namespace) throw new Error(name);
  return namespace;
};

describe("roomOf", () => {
  it("scopes a user-scoped topic by org, so one sub in two orgs gets two rooms", () => {
    expect(roomOf("notifications:7", ns("notifications"), "42")).toBe("notifications:7@42");
    expect(roomOf("notifications:7", ns("notifications"), "43")).not.toBe(roomOf("notifications:7", ns("notifications"), "42"));
  });

  it("holds no brace of its own (a room is its topic's Redis hash tag), and org ids still map one-to-one", () => {
    const orgs = ["a{b}", "a%7Bb}", "a%257Bb}", "{}", "%", "%25", "auth0|x"];
    const rooms = orgs.map((org) => roomOf("notifications:7", ns("notifications"), org));
    for (const room of rooms) expect(room).not.toMatch(/[{}]/);
    expect(new Set(rooms).size).toBe(orgs.length);
    expect(roomOf("notifications:7", ns("notifications"), "a{b}")).toBe("notifications:7@a%7Bb%7D");
  });

  it("leaves org-scoped and open topics as they are", () => {
    expect(roomOf("org:42", ns("org"), "42")).toBe("org:42");
    expect(roomOf("tournament:9", ns("tournament"), "42")).toBe("tournament:9");
  });

  it("scopes a grant namespace's topic by org and ends it with its stream bucket's hash tag", () => {
    const room = roomOf("chat:c1", ns("chat"), "42");
    expect(room).toMatch(/^chat:c1@42\{chat-b\d+\}$/);
    expect(roomOf("chat:c1", ns("chat"), "43")).toMatch(/^chat:c1@43\{/);
    // An org id's braces cannot make a second tag: the first one is the bucket's.
    expect(roomTag(roomOf("chat:c1", ns("chat"), "x{y}"))).toMatch(/^chat-b\d+$/);
    // Topics spread over every bucket.
    const tags = new Set(Array.from({ length: 500 }, (_, i) => roomTag(roomOf(`chat:c${i}`, ns("chat"), "42"))));
    expect(tags.size).toBe(CLIENT_EVENT_BUCKETS);
  });

  it("gives the topic back from every room, and no topic parses with the org mark in it", () => {
    for (const namespace of registry.namespaces()) {
      const topic = `${namespace.name}:7`;
      expect(topicOfRoom(roomOf(topic, namespace, "o.1-x"))).toBe(topic);
      expect(() => registry.parse(roomOf(topic, ns("notifications"), "42"))).toThrow();
    }
  });
});
