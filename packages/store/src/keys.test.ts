import { describe, expect, it } from "vitest";
import { hubKeys, PUSH_BUCKETS, pushBucket } from "./keys.js";

const keys = hubKeys("hub");

describe("hubKeys", () => {
  it("keeps two tenants' users apart whatever their ids hold, in one slot per (org, user)", () => {
    const pairs: Array<[string, string]> = [
      ["a/b", "c"],
      ["a", "b/c"],
      ["a%2Fb", "c"],
      ["x}", "{y"],
      ["x", "}{y"],
    ];
    for (const build of [keys.publishRate, keys.userConnections, keys.revocation]) {
      const built = pairs.map(([org, user]) => build(org, user));
      expect(new Set(built).size).toBe(pairs.length);
      // Exactly one hash tag, closed where it should be.
      for (const key of built) expect(key.match(/\{[^{}]*\}/g)).toHaveLength(1);
    }
    // Usual ids keep the keys they always had.
    expect(keys.userConnections("42", "u-7")).toBe("hub:user:{42/u-7}:conn");
  });

  it("tags a topic's keys with its room's bucket when it has one, else with its channel", () => {
    expect(keys.history("org:42").stream).toBe("hub:h:{hub:sio#/#org:42#}:s");
    expect(keys.history("chat:c1@42{chat-b7}").stream).toBe("hub:h:chat:c1@42{chat-b7}:s");
    expect(keys.dedupe("chat:c1@42{chat-b7}", "42", "m1")).toBe("hub:dedupe:chat:c1@42{chat-b7}:42:m1");
    expect(keys.clientEventStream("chat:c1@42{chat-b7}")).toBe("hub:ce:{chat-b7}");
    expect(keys.clientEvents("chat", 7)).toBe("hub:ce:{chat-b7}");
    expect(() => keys.clientEventStream("org:42")).toThrow(/no client-event stream/);
  });

  it("keeps each push bucket's keys in one slot, and a conversation's members in its topic's", () => {
    const bucket = keys.pushBucket(pushBucket("42", "u-7"));
    for (const key of [bucket.due, bucket.entries, bucket.seen('["e1","42","u-7"]')])
      expect(key.match(/\{[^{}]*\}/)?.[0]).toMatch(/^\{push-b\d+\}$/);
    expect(keys.pushBucket(3).due).toBe("hub:push:{push-b3}:due");
    expect(() => keys.pushBucket(PUSH_BUCKETS)).toThrow(RangeError);
    expect(keys.pushMembers("chat:c1@42{chat-b7}")).toBe("hub:push-members:chat:c1@42{chat-b7}");
    // Users spread over the buckets.
    const used = new Set(Array.from({ length: 200 }, (_, i) => pushBucket("42", `u${i}`)));
    expect(used.size).toBe(PUSH_BUCKETS);
  });
});
