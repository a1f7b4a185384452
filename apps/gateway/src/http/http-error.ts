import { ERROR_CODES, type ErrorCodeOn } from "@hub/events";

/** Error codes of the HTTP routes: their own plus the publish pipeline's (table: @hub/events ERROR_CODES). */
export type HttpErrorCode = ErrorCodeOn<"http">;

/** An HTTP failure; rendered as `{ error: { code, message, issues } }` with its code's status. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  /** The code's status from ERROR_CODES, unless the route names a more precise one (415 for an encoding). */
  readonly status: number;
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly issues: readonly string[] = [],
    status: number = ERROR_CODES[code].status,
  ) {
    super(message);
    this.status = status;
  }

  /** The contract's error body; `issues` is always a list (empty when there is nothing to add). */
  toJSON(): { error: { code: HttpErrorCode; message: string; issues: readonly string[] } } {
    return { error: { code: this.code, message: this.message, issues: this.issues } };
  }
}
