import { describe, expect, it } from "vitest";
import { nodeUrl } from "./node-url.js";

describe("nodeUrl", () => {
  it("makes a redis:// URL of an ioredis node key, IPv6 hosts in brackets", () => {
    expect(nodeUrl("127.0.0.1:7000")).toBe("redis://127.0.0.1:7000");
    expect(nodeUrl("redis-1.example:6379")).toBe("redis://redis-1.example:6379");
    expect(nodeUrl("::1:7000")).toBe("redis://[::1]:7000");
    expect(nodeUrl("fd00::a:6379")).toBe("redis://[fd00::a]:6379");
  });
});
