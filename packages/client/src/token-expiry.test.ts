import { describe, expect, it } from "vitest";
import { MIN_REFRESH_DELAY_MS, refreshDelay, tokenExpiry, tokenSubject } from "./token-expiry.js";

const b64url = (value: string) => Buffer.from(value).toString("base64url");
const jwt = (claims: unknown) => `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}.signature`;

describe("tokenExpiry", () => {
  it("reads exp from the payload without verifying", () => {
    expect(tokenExpiry(jwt({ sub: "u1", exp: 1_900_000_000 }))).toBe(1_900_000_000);
  });

  it("decodes base64url payloads whatever their padding, with non-ASCII claims", () => {
    for (const name of ["é", "ab", "abc", "日本語のユーザー"]) {
      expect(tokenExpiry(jwt({ sub: name, exp: 42 }))).toBe(42);
    }
  });

  it.each([
    ["not a JWT", "opaque-token"],
    ["an empty payload", "a..c"],
    ["a payload that is not base64 JSON", "a.@@@.c"],
    ["no exp", jwt({ sub: "u1" })],
    ["a string exp", jwt({ exp: "1900000000" })],
    ["a null payload", `a.${b64url("null")}.c`],
  ])("is undefined for %s", (_label, token) => {
    expect(tokenExpiry(token)).toBeUndefined();
  });
});

describe("refreshDelay", () => {
  const now = 1_700_000_000_000;
  const exp = (inMs: number) => (now + inMs) / 1000;

  it("refreshes leadMs before exp for long-lived tokens", () => {
    expect(refreshDelay(exp(3_600_000), now, 30_000)).toBe(3_570_000);
  });

  it("refreshes a third of the lifetime early for short-lived tokens", () => {
    expect(refreshDelay(exp(6_000), now, 30_000)).toBe(4_000);
  });

  it("never waits less than the minimum, even for an expired token", () => {
    expect(refreshDelay(exp(-5_000), now, 30_000)).toBe(MIN_REFRESH_DELAY_MS);
    expect(refreshDelay(exp(1_200), now, 30_000)).toBe(MIN_REFRESH_DELAY_MS);
  });
});

describe("tokenSubject", () => {
  it("reads sub, and nothing from a token without a string sub", () => {
    expect(tokenSubject(jwt({ sub: "u1", exp: 1 }))).toBe("u1");
    expect(tokenSubject(jwt({ sub: 42 }))).toBeUndefined();
    expect(tokenSubject(jwt({ sub: "" }))).toBeUndefined();
    expect(tokenSubject("opaque-token")).toBeUndefined();
  });
});
