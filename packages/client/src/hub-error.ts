import { ERROR_CODES, type ErrorBody, errorCodesOn, isErrorCode, type ProtocolErrorCode } from "@hub/events";

/**
 * What a hub request or handshake can fail with: the contract's codes, plus two the client adds.
 * - `timeout`: the server did not answer within `requestTimeoutMs`.
 * - `closed`: the hub was closed before (or while) the request was sent.
 */
export type HubErrorCode = ProtocolErrorCode | "timeout" | "closed";

const HANDSHAKE_CODES: ReadonlySet<string> = new Set(errorCodesOn("handshake"));
const PROTOCOL_CODES: ReadonlySet<string> = new Set([...errorCodesOn("socket"), ...HANDSHAKE_CODES]);

/**
 * A failed request (`{ ok: false, error: { code, message } }`), a request timeout, or a refused
 * handshake, with a stable `code`.
 *
 * @example
 * try {
 *   await hub.presence("org:43");
 * } catch (error) {
 *   if (error instanceof HubError && error.code === "forbidden") showNoAccess();
 * }
 */
export class HubError extends Error {
  override readonly name = "HubError";

  /** On `rate_limited`: how long to wait before the same request can succeed, ms (the server's `retry_after_ms`). */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: HubErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** From an error body as acks and `error` events carry it; an unknown code becomes `internal`. */
  static fromBody(body: unknown): HubError {
    const { code, message, retry_after_ms } = (typeof body === "object" && body !== null ? body : {}) as Partial<
      Record<keyof ErrorBody, unknown>
    >;
    const text = typeof message === "string" ? message : "request failed";
    if (typeof code !== "string" || !PROTOCOL_CODES.has(code)) return new HubError("internal", text);
    const retryAfterMs =
      typeof retry_after_ms === "number" && Number.isFinite(retry_after_ms) && retry_after_ms >= 0 ? retry_after_ms : undefined;
    return new HubError(code as ProtocolErrorCode, text, retryAfterMs === undefined ? undefined : { retryAfterMs });
  }

  /**
   * From socket.io-client's `connect_error`: a refused handshake (`data.code` a handshake code of
   * the table: `token_*`, `too_many_connections`, `rate_limited`, `unavailable`). `undefined` for
   * transport errors, which socket.io-client retries by itself.
   */
  static fromConnectError(error: Error & { data?: unknown }): HubError | undefined {
    const data = (typeof error.data === "object" && error.data !== null ? error.data : {}) as { code?: unknown; message?: unknown };
    if (typeof data.code !== "string" || !HANDSHAKE_CODES.has(data.code)) return undefined;
    const text = typeof data.message === "string" ? data.message : error.message;
    return new HubError(data.code as HubErrorCode, text);
  }

  toJSON(): { code: HubErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Codes after which the same request may succeed later: `timeout`, and the table's transient codes. */
export function isTransient(code: HubErrorCode): boolean {
  return code === "timeout" || (isErrorCode(code) && ERROR_CODES[code].transient);
}
