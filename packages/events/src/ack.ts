import type { ErrorBody } from "./hub-error.js";

/** Every failed request is answered with this. */
export interface Failure {
  ok: false;
  error: ErrorBody;
}

/** A request's acknowledgement callback: its success shape, or a `Failure`. */
export type Ack<T> = (reply: T | Failure) => void;
