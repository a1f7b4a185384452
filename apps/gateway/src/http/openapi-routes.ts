import { createHash } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { Router } from "express";
import type { OpenApiDocument } from "./openapi-document.js";
import type { RouteSpec } from "./route-spec.js";

/** How long caches may keep the document: it changes only with the gateway's version. */
const MAX_AGE_S = 300;

/** `GET /openapi.json`, as registered and as the document describes itself. */
export const OPENAPI_ROUTE = {
  method: "get",
  path: "/openapi.json",
  operationId: "openApi",
  tag: "operations",
  summary: "This document: the OpenAPI 3.1 description of the gateway's HTTP routes",
  description: `Unauthenticated; cacheable (\`Cache-Control: public, max-age=${MAX_AGE_S}\`, an ETag, 304 on \`If-None-Match\`).`,
  security: "none",
  responses: { 200: { description: "The document", schema: Type.Object({ openapi: Type.String() }, { additionalProperties: true }) } },
  errors: [],
} as const satisfies RouteSpec;

/**
 * Serves `document` at `GET /openapi.json`, serialized once, with a strong ETag.
 *
 * @example
 * app.use(openApiRoutes(gatewayOpenApi(VERSION)));
 */
export function openApiRoutes(document: OpenApiDocument): Router {
  const body = JSON.stringify(document);
  const etag = `"${createHash("sha256").update(body).digest("base64url")}"`;
  const router = Router();
  router.get(OPENAPI_ROUTE.path, (_req, res) => {
    // express answers 304 itself when If-None-Match matches this ETag.
    res
      .set({ "Cache-Control": `public, max-age=${MAX_AGE_S}`, ETag: etag })
      .type("application/json")
      .send(body);
  });
  return router;
}
