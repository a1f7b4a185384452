import { ERROR_CODES, errorCodesOn } from "@hub/events";
import { describe, expect, it } from "vitest";
import { HubError, isTransient } from "./hub-error.js";

/** A refused handshake as socket.io-client reports it. */
function connectError(data: unknown): Error & { data?: unknown } {
  return Object.assign(new Error("unauthorized"), { data });
}

describe("HubError", () => {
  it.each(errorCodesOn("handshake"))("reads a handshake refused %s, with its message", (code) => {
    const error = HubError.fromConnectError(connectError({ code, message: `refused: ${code}` }));
    expect(error?.code).toBe(code);
    expect(error?.message).toBe(`refused: ${code}`);
  });

  it("takes a connect_error without a handshake code for a transport error (undefined: socket.io-client retries it)", () => {
    expect(HubError.fromConnectError(new Error("websocket error"))).toBeUndefined();
    expect(HubError.fromConnectError(connectError({ code: "invalid_topic", message: "not a handshake code" }))).toBeUndefined();
    expect(HubError.fromConnectError(connectError("text"))).toBeUndefined();
  });

  it("reads every protocol code of an ack, and an unknown one as internal", () => {
    for (const code of [...errorCodesOn("socket"), ...errorCodesOn("handshake")]) {
      expect(HubError.fromBody({ code, message: "m" }).code).toBe(code);
    }
    expect(HubError.fromBody({ code: "made_up", message: "m" }).code).toBe("internal");
    expect(HubError.fromBody({ code: "toString", message: "m" }).code).toBe("internal");
    expect(HubError.fromBody(null).code).toBe("internal");
  });

  it("keeps a rate_limited error's retry_after_ms, and only a sane one", () => {
    expect(HubError.fromBody({ code: "rate_limited", message: "m", retry_after_ms: 250 }).retryAfterMs).toBe(250);
    expect(HubError.fromBody({ code: "rate_limited", message: "m", retry_after_ms: -1 }).retryAfterMs).toBeUndefined();
    expect(HubError.fromBody({ code: "rate_limited", message: "m", retry_after_ms: "soon" }).retryAfterMs).toBeUndefined();
    expect(HubError.fromBody({ code: "forbidden", message: "m" }).retryAfterMs).toBeUndefined();
  });
});

describe("isTransient", () => {
  it("is the table's transient flag, plus the SDK's timeout", () => {
    for (const code of [...errorCodesOn("socket"), ...errorCodesOn("handshake")]) {
      expect(isTransient(code), code).toBe(ERROR_CODES[code].transient);
    }
    expect(isTransient("timeout")).toBe(true);
    expect(isTransient("closed")).toBe(false);
    expect(["rate_limited", "unavailable", "internal"].every((code) => isTransient(code as "rate_limited"))).toBe(true);
  });
});
