import { ERROR_CODES } from "@hub/events";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { VERSION } from "../version.js";
import { GATEWAY_ROUTES, gatewayOpenApi } from "./gateway-routes.js";
import { openApiPath } from "./openapi-document.js";

const document = gatewayOpenApi(VERSION);

type Operation = {
  operationId: string;
  security: unknown[];
  parameters?: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: unknown;
  responses: Record<string, { content: Record<string, { schema?: { properties?: { error?: unknown } } }> }>;
};
const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ path, method, op: op as Operation })),
);
function operation(method: string, path: string): Operation {
  const found = operations.find((o) => o.method === method && o.path === path);
  if (found === undefined) throw new Error(`${method} ${path} is not documented`);
  return found.op;
}

type ErrorSchema = { properties?: { error?: { properties: { code: { enum: string[] } } } } };
/** The error codes `op` documents under `status`; undefined when that answer is not an error. */
function errorCodes(op: Operation, status: string): string[] | undefined {
  return (op.responses[status]?.content["application/json"]?.schema as ErrorSchema | undefined)?.properties?.error?.properties.code.enum;
}

describe("the gateway's OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // The validator is not vacuous: an operation without responses fails it.
    const broken = structuredClone(document) as { paths: Record<string, Record<string, { responses?: unknown }>> };
    delete broken.paths["/health"]?.get?.responses;
    broken.paths["/health"] = { get: { responses: "none" } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("has one operation per route spec, with a unique operationId", () => {
    expect(operations).toHaveLength(GATEWAY_ROUTES.length);
    expect(new Set(operations.map((o) => o.op.operationId)).size).toBe(operations.length);
    for (const route of GATEWAY_ROUTES) expect(operation(route.method, openApiPath(route.path)).operationId).toBe(route.operationId);
  });

  it("declares the three security schemes, and each route names its own", () => {
    const components = document.components as { securitySchemes: Record<string, { type: string; scheme?: string; name?: string }> };
    expect(components.securitySchemes).toMatchObject({
      serviceToken: { type: "http", scheme: "bearer" },
      userToken: { type: "http", scheme: "bearer" },
      scraperApiKey: { type: "apiKey", name: "X-Api-Key" },
    });
    expect(operation("post", "/api/v1/events").security).toEqual([{ serviceToken: [] }]);
    expect(operation("post", "/events/notify").security).toEqual([{ scraperApiKey: [] }]);
    expect(operation("get", "/health").security).toEqual([]);
    expect(operation("get", "/openapi.json").security).toEqual([]);
  });

  it("documents path and query parameters from the routes' schemas", () => {
    expect(operation("get", "/api/v1/dlq/{stream}/entries").parameters).toEqual([
      expect.objectContaining({ name: "stream", in: "path", required: true }),
      expect.objectContaining({ name: "after", in: "query", required: false }),
      expect.objectContaining({ name: "count", in: "query", required: false }),
    ]);
    expect(operation("get", "/api/v1/presence").parameters).toEqual([
      expect.objectContaining({ name: "org_id", in: "query", required: true }),
      expect.objectContaining({ name: "limit", in: "query", required: false }),
    ]);
  });

  it("answers every error of a route with the error envelope, its codes under their own status", () => {
    for (const { path, method, op } of operations) {
      for (const status of Object.keys(op.responses)) {
        for (const code of errorCodes(op, status) ?? []) {
          expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status, `${method} ${path} ${code}`).toBe(Number(status));
        }
      }
    }
    const publish = operation("post", "/api/v1/events");
    expect(errorCodes(publish, "400")).toEqual(expect.arrayContaining(["invalid_json", "invalid_event", "unknown_type", "bad_request"]));
    expect(errorCodes(publish, "401")).toEqual(["unauthorized"]);
    expect(errorCodes(publish, "429")).toEqual(["rate_limited"]);
    expect(errorCodes(publish, "413")).toEqual(["payload_too_large"]);
  });

  it("documents the request bodies the routes validate", () => {
    const body = (op: Operation) =>
      (op.requestBody as { content: { "application/json": { schema: { properties?: Record<string, unknown>; anyOf?: unknown[] } } } })
        .content["application/json"].schema;
    expect(body(operation("post", "/api/v1/users/{user_id}/revoke")).properties).toHaveProperty("before");
    expect(body(operation("post", "/api/v1/huddles")).properties).toHaveProperty("conversation_id");
    expect(body(operation("post", "/api/v1/events")).anyOf).toHaveLength(2);
    const required = (op: Operation) => (op.requestBody as { required: boolean }).required;
    expect(required(operation("post", "/api/v1/users/{user_id}/revoke"))).toBe(true);
    expect(required(operation("post", "/api/v1/events"))).toBe(true);
    expect(required(operation("post", "/api/v1/dlq/{stream}/replay"))).toBe(false);
  });
});
