import type { ErrorCodeOn } from "./error-codes.js";

/** Error codes a client can receive: the socket protocol's codes plus the handshake's (table: error-codes.ts). */
export type ProtocolErrorCode = ErrorCodeOn<"socket"> | ErrorCodeOn<"handshake">;

/** Error codes of the publish pipeline (every producer path). */
export type PublishErrorCode = ErrorCodeOn<"publish">;

/** The wire shape of an error, as acks and `error` events carry it. */
export interface ErrorBody<C extends string = ProtocolErrorCode> {
  code: C;
  message: string;
  /** On `rate_limited`: how long to wait before the same request can succeed, ms. */
  retry_after_ms?: number;
}

/** A socket-protocol or handshake failure with a stable code from the contract. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /** On `rate_limited`: when the request may succeed again, ms from now. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  toJSON(): ErrorBody {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retry_after_ms: this.retryAfterMs };
  }
}

/** An event a producer handed in that cannot be delivered, with the reason. */
export class PublishError extends Error {
  override readonly name = "PublishError";
  /** The org the refused input named, when it could be read (the publish pipeline sets it, for logs). */
  orgId: string | undefined;
  /** The event type the refused input named, when it could be read (the publish pipeline sets it, for logs). */
  eventType: string | undefined;
  constructor(
    readonly code: PublishErrorCode,
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }

  toJSON(): ErrorBody<PublishErrorCode> & { issues: readonly string[] } {
    return { code: this.code, message: this.message, issues: this.issues };
  }
}
