import type { PublishErrorCode } from "@hub/events";

/** Error codes of the HTTP routes: their own plus the publish pipeline's. */
export type HttpErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "payload_too_large"
  | "invalid_command"
  | "rate_limited"
  | "unavailable"
  | "internal"
  | PublishErrorCode;

/** An HTTP failure; rendered as `{ error: { code, message, issues } }` with its status. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }

  /** The contract's error body; `issues` is always a list (empty when there is nothing to add). */
  toJSON(): { error: { code: HttpErrorCode; message: string; issues: readonly string[] } } {
    return { error: { code: this.code, message: this.message, issues: this.issues } };
  }
}
