import { type ErrorBody, isRequestName, ProtocolError, parseRequest, type ReplyOf, type RequestName, type RequestOf } from "@hub/events";
import type { Logger } from "pino";
import type { HubSocket } from "./hub-socket.js";

/**
 * Handles one client request, already checked against its schema (`REQUEST_SCHEMAS`), and answers
 * the reply the client SDK expects (`ReplyOf`); shared by every socket (no closure per socket and event).
 */
export type RequestHandler<E extends RequestName> = (socket: HubSocket, request: RequestOf<E>) => ReplyOf<E> | Promise<ReplyOf<E>>;

/** One handler per client event of the protocol: a missing, extra or mistyped one does not compile. */
export type RequestHandlers = { readonly [E in RequestName]: RequestHandler<E> };

/** What every socket's requests are served with; one per gateway. */
export interface RequestTable {
  handlers: RequestHandlers;
  logger: Logger;
  /** Requests that bound their own time (a subscribe's replay goes at its client's pace): no REQUEST_TIMEOUT_MS. */
  untimed: ReadonlySet<RequestName>;
  /** Told about each refused request: its code, whether the connection's request budget refused it, and the request. */
  onRefused(code: string, budget: boolean, event: string): void;
}

const RATE_LIMITED: ErrorBody = { code: "rate_limited", message: "too many requests on this connection; slow down" };

/**
 * The longest a request waits for its answer (Redis that stopped answering holds commands without
 * end): past it the client is answered `unavailable` and may send it again; a later result is
 * dropped. Every request is safe to repeat (presence reads, acks are cumulative, a repeated inhouse
 * command is refused by the queue's state machine).
 */
const REQUEST_TIMEOUT_MS = 4_000;
const TIMED_OUT = Symbol("timed out");

/**
 * Serves a socket's requests from one handler table with a single listener, so every request is
 * answered: through the client's acknowledgement callback when there is one, otherwise failures go
 * to the socket's `error` event. Every request, known or not, is first charged to the connection's
 * budget (`socket.data.requestBucket`, REQUEST_RATE_PER_SECOND): past it the answer is
 * `rate_limited` and no handler runs. An event the protocol does not know is refused with
 * `bad_request`, so a client's ack never waits forever; a request is then checked against its
 * schema (`bad_request` too) before its handler runs. Nothing a client sends can throw out of here.
 */
export function serveRequests(socket: HubSocket, table: RequestTable): void {
  let listener = listeners.get(table);
  if (!listener) {
    listener = requestListener(table);
    listeners.set(table, listener);
  }
  socket.onAny(listener);
}

/** One listener per table, shared by its sockets (a closure per socket costs memory per connection). */
const listeners = new WeakMap<RequestTable, (this: HubSocket, event: string, ...args: unknown[]) => void>();

/** The `onAny` listener serving `table`; Socket.IO calls it with the socket as `this`. */
function requestListener(table: RequestTable) {
  return function serve(this: HubSocket, event: string, ...args: unknown[]): void {
    respond(this, table, event, args);
  };
}

/** Answers one request (see `serveRequests`). */
function respond(socket: HubSocket, table: RequestTable, event: string, args: unknown[]): void {
  const ack = typeof args.at(-1) === "function" ? (args.pop() as (reply: unknown) => void) : undefined;
  if (!socket.data.requestBucket.take()) {
    table.onRefused("rate_limited", true, event);
    if (ack) ack({ ok: false, error: RATE_LIMITED });
    else socket.emit("error", RATE_LIMITED);
    return;
  }
  if (!isRequestName(event)) {
    const body: ErrorBody = { code: "bad_request", message: `unknown event "${event}"` };
    if (ack) ack({ ok: false, error: body });
    else socket.emit("error", body);
    return;
  }
  let result: unknown;
  try {
    result = handle(table.handlers, socket, event, args[0]);
  } catch (error) {
    fail(socket, ack, error, table, event, args[0]);
    return;
  }
  if (result instanceof Promise && table.untimed.has(event)) {
    result.then(
      (value) => ack?.(value),
      (error: unknown) => fail(socket, ack, error, table, event, args[0]),
    );
  } else if (result instanceof Promise) {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), REQUEST_TIMEOUT_MS);
    });
    Promise.race([result, expired])
      .then(
        (value) => {
          if (value !== TIMED_OUT) ack?.(value);
          else
            fail(
              socket,
              ack,
              new ProtocolError("unavailable", "no answer in time (Redis unreachable?); send it again"),
              table,
              event,
              args[0],
            );
        },
        (error: unknown) => fail(socket, ack, error, table, event, args[0]),
      )
      .finally(() => clearTimeout(timer));
  } else {
    ack?.(result);
  }
}

/** Checks the request against its event's schema (throws `ProtocolError`), then runs its handler with it typed. */
function handle<E extends RequestName>(handlers: RequestHandlers, socket: HubSocket, event: E, request: unknown) {
  return handlers[event](socket, parseRequest(event, request));
}

function fail(
  socket: HubSocket,
  ack: ((reply: unknown) => void) | undefined,
  error: unknown,
  { logger, onRefused }: RequestTable,
  event: string,
  request: unknown,
): void {
  let body: ErrorBody;
  if (error instanceof ProtocolError) {
    body = error.toJSON();
    onRefused(body.code, false, event);
    if (logger.isLevelEnabled("debug")) logger.debug({ ...logFields(socket, event, request), code: body.code }, "request refused");
  } else {
    logger.error({ err: error, ...logFields(socket, event, request) }, "request handler failed");
    body = { code: "internal", message: "internal error" };
  }
  if (ack) ack({ ok: false, error: body });
  else socket.emit("error", body);
}

/** Who asked for what, for logs: the request itself is never logged (`auth.refresh` carries a token). */
function logFields(socket: HubSocket, event: string, request: unknown) {
  const principal = socket.data.principal;
  const topic = typeof request === "object" && request !== null ? (request as { topic?: unknown }).topic : undefined;
  return {
    event,
    socket: socket.id,
    org_id: principal?.kind === "user" ? principal.orgId : undefined,
    topic: typeof topic === "string" ? topic.slice(0, 256) : undefined,
  };
}
