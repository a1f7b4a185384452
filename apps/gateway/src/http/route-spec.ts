import type { TObject, TSchema } from "@sinclair/typebox";
import type { HttpErrorCode } from "./http-error.js";

export type HttpMethod = "get" | "post" | "delete";

/**
 * How a route authenticates: a service token (`Authorization: Bearer`, signed with
 * `INTERNAL_JWT_SECRET`), the scraper's `X-Api-Key`, or nothing.
 */
export type RouteSecurity = "service" | "scraperKey" | "none";

/** One answer of a route other than an error. */
export interface RouteResponse {
  description: string;
  /** The body's schema; none for a body that is not JSON (`contentType` names it). */
  schema?: TSchema;
  /**
   * The body's media type.
   * @default "application/json"
   */
  contentType?: string;
}

/**
 * One HTTP route as it is registered and as `/openapi.json` describes it: the route file registers
 * `method` + `path` and validates `params`, `query` and `body` with these schemas (validateRequest),
 * and the OpenAPI document is generated from the same objects.
 *
 * A schema property may carry `x-error-message`: the `bad_request` message when it fails.
 *
 * @example
 * const revoke = {
 *   method: "post", path: "/api/v1/users/:user_id/revoke", operationId: "revokeUser", tag: "users",
 *   summary: "Revoke a user's tokens", security: "service",
 *   body: Type.Object({ org_id: OrgId, before: Type.Optional(Type.Integer()) }),
 *   responses: { 202: { description: "revoked", schema: RevokeAnswer } },
 *   errors: ["bad_request", "unauthorized", "forbidden", "unavailable"],
 * } satisfies RouteSpec;
 * router.post(revoke.path, serviceOnly(verifier), jsonBody, validateRequest(revoke), handler);
 */
export interface RouteSpec {
  method: HttpMethod;
  /** Express syntax (`/api/v1/dlq/:stream/entries`); the document writes `{stream}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** The group the document lists it under. */
  tag: string;
  security: RouteSecurity;
  params?: TObject;
  query?: TObject;
  /**
   * The request body. Validated by validateRequest unless `bodyCheckedBy` says who checks it.
   */
  body?: TSchema;
  /** For bodies the publish pipeline or the command parser validates (with these same schemas). */
  bodyCheckedBy?: string;
  responses: Readonly<Record<number, RouteResponse>>;
  /** The error codes the route may answer (`{ error: { code, message, issues } }`), each with its status. */
  errors: readonly HttpErrorCode[];
}
