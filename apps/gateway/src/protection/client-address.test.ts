import { describe, expect, it } from "vitest";
import { clientAddress } from "./admission.js";
import { issuedBefore, parseControl } from "./user-sessions.js";

describe("clientAddress", () => {
  it("is the peer's address unless TRUST_PROXY", () => {
    expect(clientAddress("10.0.0.5", { "x-forwarded-for": "1.2.3.4" }, false)).toBe("10.0.0.5");
  });

  it("with TRUST_PROXY, is the last X-Forwarded-For entry: the one the balancer added, not the client's own claims", () => {
    expect(clientAddress("10.0.0.5", { "x-forwarded-for": "6.6.6.6, 1.2.3.4" }, true)).toBe("1.2.3.4");
    expect(clientAddress("10.0.0.5", { "x-forwarded-for": ["6.6.6.6", "1.2.3.4 "] }, true)).toBe("1.2.3.4");
    expect(clientAddress("10.0.0.5", {}, true)).toBe("10.0.0.5");
    expect(clientAddress("10.0.0.5", { "x-forwarded-for": " " }, true)).toBe("10.0.0.5");
  });
});

describe("revocation rules", () => {
  it("a token falls under a revocation when issued before it, or when it has no iat", () => {
    expect(issuedBefore(99, 100_000)).toBe(true);
    expect(issuedBefore(100, 100_000)).toBe(false);
    expect(issuedBefore(undefined, 100_000)).toBe(true);
  });

  it("reads control messages and nothing else", () => {
    expect(parseControl(JSON.stringify({ kind: "revoke", orgId: "o", userId: "u", before: 5 }))).toEqual({
      kind: "revoke",
      orgId: "o",
      userId: "u",
      before: 5,
    });
    for (const bad of ["", "not json", "null", '{"kind":"wipe","orgId":"o","userId":"u"}', '{"kind":"revoke","orgId":1,"userId":"u"}']) {
      expect(parseControl(bad), bad).toBeUndefined();
    }
    expect(parseControl('{"kind":"revoke","orgId":"o","userId":"u","before":"soon"}')).toBeUndefined();
  });
});
