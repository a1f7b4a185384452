import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { RequestHandler } from "express";
import { HttpError } from "./http-error.js";
import type { RouteSpec } from "./route-spec.js";

/** The keyword a property's schema names its `bad_request` message with. */
export const ERROR_MESSAGE = "x-error-message";

/** Most issues one answer lists. */
const MAX_ISSUES = 10;

/**
 * Middleware checking a request's path params, query and JSON body (mount it after `jsonBody`)
 * against its route's schemas, in that order: the first part that fails is a `400 bad_request`
 * whose message is the failing property's `x-error-message` and whose issues name each fault.
 *
 * @example
 * router.get(spec.path, serviceOnly(verifier), validateRequest(spec), handler);
 */
export function validateRequest(spec: RouteSpec): RequestHandler {
  const parts = (
    [
      ["params", spec.params],
      ["query", spec.query],
      ["body", spec.bodyCheckedBy === undefined ? spec.body : undefined],
    ] as const
  ).flatMap(([part, schema]) => (schema === undefined ? [] : [{ part, schema, check: TypeCompiler.Compile(schema) }]));
  return (req, _res, next) => {
    for (const { part, schema, check } of parts) {
      const value: unknown = req[part];
      if (check.Check(value)) continue;
      const errors = [...check.Errors(value)].slice(0, MAX_ISSUES);
      const issues = errors.map((e) => `${part}${e.path.replaceAll("/", ".")}: ${e.message}`);
      return next(new HttpError("bad_request", messageOf(schema, errors[0]?.path ?? "", part), issues));
    }
    next();
  };
}

/** The message of the top-level property at `path` (`/ids/0` -> `ids`), or of the part itself. */
function messageOf(schema: TSchema, path: string, part: string): string {
  const key = path.split("/")[1];
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  const property = key === undefined ? undefined : properties?.[key];
  const message = (property as Record<string, unknown> | undefined)?.[ERROR_MESSAGE] ?? schema[ERROR_MESSAGE];
  return typeof message === "string" ? message : `the request ${part} is invalid`;
}
