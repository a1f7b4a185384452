import { REQUEST_SCHEMAS } from "@hub/events";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import type { HubSocket } from "./hub-socket.js";
import { type RequestHandlers, type RequestTable, serveRequests } from "./respond.js";
import { TokenBucket } from "./token-bucket.js";

/** A table whose handlers each answer `{ ok: true, got }` with the request they were handed. */
function echoTable() {
  const refused: Array<[string, boolean]> = [];
  const echo = vi.fn((_socket: HubSocket, request: unknown) => ({ ok: true, got: request }));
  const table: RequestTable = {
    handlers: Object.fromEntries(Object.keys(REQUEST_SCHEMAS).map((event) => [event, echo])) as unknown as RequestHandlers,
    logger: pino({ level: "silent" }),
    untimed: new Set(),
    onRefused: (code, budget) => refused.push([code, budget]),
  };
  return { table, echo, refused };
}

/** A socket that serves `table`: `send` is a client's emit with an acknowledgement callback, `sendWithoutAck` one without. */
function servedSocket(table: RequestTable) {
  let listener: ((this: unknown, event: string, ...args: unknown[]) => void) | undefined;
  const socket = {
    id: "socket-1",
    data: { principal: { kind: "user", userId: "u", orgId: "o" }, requestBucket: new TokenBucket(1_000) },
    onAny: (fn: typeof listener) => {
      listener = fn;
    },
    emit: vi.fn(),
  };
  serveRequests(socket as unknown as HubSocket, table);
  return {
    // Socket.IO calls an onAny listener with the socket as `this`.
    send: (event: string, payload: unknown) => new Promise<unknown>((resolve) => listener?.call(socket, event, payload, resolve)),
    sendWithoutAck: (event: string, payload: unknown) => listener?.call(socket, event, payload),
    emit: socket.emit,
  };
}

describe("serveRequests: one schema check before the handler", () => {
  it("hands the handler the request as it came, once it passes its schema", async () => {
    const { table, echo } = echoTable();
    const { send } = servedSocket(table);
    const request = { topic: "org:1", since: { offset: 2, epoch: "e" } };
    expect(await send("subscribe", request)).toEqual({ ok: true, got: request });
    expect(echo.mock.calls[0]?.[1]).toBe(request);
  });

  it("answers a malformed request bad_request, naming the event, and never runs the handler", async () => {
    const { table, echo, refused } = echoTable();
    const { send } = servedSocket(table);
    expect(await send("inhouse.join", { queue_id: "has space" })).toEqual({
      ok: false,
      error: { code: "bad_request", message: expect.stringMatching(/^inhouse\.join: queue_id: /) },
    });
    expect(echo).not.toHaveBeenCalled();
    // Counted like any refusal a handler makes, not as the request budget's.
    expect(refused).toEqual([["bad_request", false]]);
  });

  it("answers with a property's own code where the schema names one (ack's topic: invalid_topic)", async () => {
    const { table, echo } = echoTable();
    const { send } = servedSocket(table);
    expect(await send("ack", { topic: 7, offset: 1 })).toMatchObject({ ok: false, error: { code: "invalid_topic" } });
    expect(echo).not.toHaveBeenCalled();
  });

  it("emits the refusal as an error event to a client that sent no callback", () => {
    const { table } = echoTable();
    const { sendWithoutAck, emit } = servedSocket(table);
    sendWithoutAck("auth.refresh", { token: 42 });
    expect(emit).toHaveBeenCalledWith("error", { code: "bad_request", message: expect.stringMatching(/^auth\.refresh: token: /) });
  });

  it("refuses an event the protocol does not know, inherited names included, before any schema", async () => {
    const { table, echo } = echoTable();
    const { send } = servedSocket(table);
    for (const event of ["subscribe_everything", "constructor", "__proto__"]) {
      expect(await send(event, {})).toEqual({ ok: false, error: { code: "bad_request", message: `unknown event "${event}"` } });
    }
    expect(echo).not.toHaveBeenCalled();
  });
});
