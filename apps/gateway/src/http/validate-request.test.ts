import { Type } from "@sinclair/typebox";
import type { Request, Response } from "express";
import { describe, expect, it } from "vitest";
import { HttpError } from "./http-error.js";
import type { RouteSpec } from "./route-spec.js";
import { validateRequest } from "./validate-request.js";

const spec = {
  method: "post",
  path: "/things/:id",
  operationId: "thing",
  tag: "things",
  summary: "a thing",
  security: "none",
  params: Type.Object({ id: Type.String({ pattern: "^[a-z]+$", "x-error-message": "id must be lowercase letters" }) }),
  query: Type.Object({ n: Type.Optional(Type.String({ pattern: "^\\d+$" })) }),
  body: Type.Object(
    { ids: Type.Array(Type.String(), { minItems: 1, "x-error-message": "ids must be a non-empty list" }) },
    { "x-error-message": "body must be { ids }" },
  ),
  responses: { 200: { description: "ok" } },
  errors: ["bad_request"],
} as const satisfies RouteSpec;

/** What the middleware hands to `next` for a request with these parts. */
function outcome(parts: { params?: unknown; query?: unknown; body?: unknown }, route: RouteSpec = spec): unknown {
  let passed: unknown = "not called";
  const req = { params: { id: "abc" }, query: {}, body: { ids: ["x"] }, ...parts } as unknown as Request;
  validateRequest(route)(req, {} as Response, (error?: unknown) => {
    passed = error;
  });
  return passed;
}

describe("validateRequest", () => {
  it("passes a request its schemas accept", () => {
    expect(outcome({})).toBeUndefined();
  });

  it("refuses the first failing part with its property's message, listing each fault", () => {
    const error = outcome({ params: { id: "A1" }, body: { ids: [] } }) as HttpError;
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ code: "bad_request", status: 400, message: "id must be lowercase letters" });
    expect(error.issues).toEqual([expect.stringMatching(/^params\.id: /)]);
    expect(outcome({ body: { ids: [] } })).toMatchObject({
      message: "ids must be a non-empty list",
      issues: [expect.stringMatching(/^body\.ids: /)],
    });
  });

  it("uses the schema's own message for a wrong shape, and a generic one where none is named", () => {
    expect(outcome({ body: [1] })).toMatchObject({ message: "body must be { ids }" });
    expect(outcome({ query: { n: "x" } })).toMatchObject({ message: "the request query is invalid" });
  });

  it("leaves a body to the checker the spec names", () => {
    expect(outcome({ body: "not json" }, { ...spec, bodyCheckedBy: "the publish pipeline" })).toBeUndefined();
  });
});
