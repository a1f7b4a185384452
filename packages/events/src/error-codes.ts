/**
 * Where an error code can reach a caller:
 * - `socket`: a request's ack (`{ ok: false, error }`) or an `error` event;
 * - `handshake`: a refused connection (`connect_error` with `data: { code, message }`);
 * - `publish`: the publish pipeline (`PublishError` in the SDK, HTTP 4xx, dead-letter entries);
 * - `http`: an HTTP route's `{ error: { code, message, issues } }`.
 */
export type ErrorSurface = "socket" | "handshake" | "publish" | "http";

export interface ErrorCodeSpec {
  /** The HTTP status a route answers with this code (a socket-only code names the closest one). */
  readonly status: number;
  /** Whether the same request may succeed later, unchanged: retry it with backoff. */
  readonly transient: boolean;
  readonly surfaces: readonly ErrorSurface[];
}

/**
 * Every error code of the hub's protocol, with its HTTP status, whether it is transient and where it
 * can appear. The one list: the code unions below, `HttpError`'s status, the client SDK's
 * `HubError` and `isTransient`, and docs/protocol.md ("Error codes", checked by a test) read it.
 * A new code is one row here.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, transient: false, surfaces: ["socket", "http"] },
  invalid_topic: { status: 400, transient: false, surfaces: ["socket"] },
  unknown_namespace: { status: 400, transient: false, surfaces: ["socket"] },
  unauthorized: { status: 401, transient: false, surfaces: ["http"] },
  token_missing: { status: 401, transient: false, surfaces: ["socket", "handshake"] },
  token_invalid: { status: 401, transient: false, surfaces: ["socket", "handshake"] },
  token_expired: { status: 401, transient: false, surfaces: ["socket", "handshake"] },
  token_revoked: { status: 401, transient: false, surfaces: ["socket", "handshake"] },
  forbidden: { status: 403, transient: false, surfaces: ["socket", "http"] },
  not_found: { status: 404, transient: false, surfaces: ["socket", "http"] },
  too_many_subscriptions: { status: 429, transient: false, surfaces: ["socket"] },
  too_many_connections: { status: 429, transient: false, surfaces: ["handshake"] },
  rate_limited: { status: 429, transient: true, surfaces: ["socket", "handshake", "http"] },
  invalid_command: { status: 400, transient: false, surfaces: ["http"] },
  invalid_json: { status: 400, transient: false, surfaces: ["publish", "http"] },
  invalid_event: { status: 400, transient: false, surfaces: ["socket", "publish", "http"] },
  unknown_event: { status: 400, transient: false, surfaces: ["socket"] },
  id_conflict: { status: 409, transient: false, surfaces: ["socket"] },
  huddle_full: { status: 409, transient: false, surfaces: ["socket"] },
  screen_share_taken: { status: 409, transient: false, surfaces: ["socket"] },
  call_in_progress: { status: 409, transient: false, surfaces: ["socket"] },
  unknown_type: { status: 400, transient: false, surfaces: ["publish", "http"] },
  no_route: { status: 400, transient: false, surfaces: ["publish", "http"] },
  org_mismatch: { status: 400, transient: false, surfaces: ["publish", "http"] },
  payload_too_large: { status: 413, transient: false, surfaces: ["socket", "publish", "http"] },
  unavailable: { status: 503, transient: true, surfaces: ["socket", "handshake", "http"] },
  internal: { status: 500, transient: true, surfaces: ["socket", "http"] },
} as const satisfies Record<string, ErrorCodeSpec>;

/** Every error code of the protocol. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes that can appear on one surface. */
export type ErrorCodeOn<S extends ErrorSurface> = {
  [C in ErrorCode]: S extends (typeof ERROR_CODES)[C]["surfaces"][number] ? C : never;
}[ErrorCode];

/** The codes of one surface, in the table's order. */
export function errorCodesOn<S extends ErrorSurface>(surface: S): ReadonlyArray<ErrorCodeOn<S>> {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  return codes.filter((code) => (ERROR_CODES[code].surfaces as readonly ErrorSurface[]).includes(surface)) as Array<ErrorCodeOn<S>>;
}

/** Whether `code` is one of the protocol's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
}
