import { ERROR_CODES, errorCodesOn } from "@hub/events";
import type { TObject, TSchema } from "@sinclair/typebox";
import type { HttpErrorCode } from "./http-error.js";
import type { RouteSecurity, RouteSpec } from "./route-spec.js";

/** An OpenAPI 3.1 document, as JSON. */
export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, unknown>> };

const SECURITY: Record<RouteSecurity, Array<Record<string, never[]>>> = {
  service: [{ serviceToken: [] }],
  scraperKey: [{ scraperApiKey: [] }],
  none: [],
};

const SECURITY_SCHEMES = {
  serviceToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A service token: HS256, signed with INTERNAL_JWT_SECRET, claims `sub` (the service's name) and `exp`. " +
      "Missing, malformed or expired: 401 `unauthorized`; a user token: 403 `forbidden`.",
  },
  userToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A user token: signed with JWT_SECRET (HS256) or a JWT_JWKS_URL key, claims `sub`, `org_id`, optional `roles`, `exp`. " +
      "It authenticates Socket.IO connections (`io(url, { auth: { token } })`, docs/protocol.md); no HTTP route takes it, " +
      "and a service route given one answers 403 `forbidden`.",
  },
  scraperApiKey: {
    type: "apiKey",
    in: "header",
    name: "X-Api-Key",
    description: "SCRAPER_API_KEY, compared in constant time. Missing or wrong: 401 `unauthorized`.",
  },
};

/** Headers of answers a caller should retry later. */
const RETRY_AFTER = { "Retry-After": { description: "seconds to wait before retrying", schema: { type: "integer", minimum: 0 } } };

/**
 * The OpenAPI 3.1 description of `routes`: their paths, parameters, bodies and answers come from the
 * route specs the routes validate with; every error answer is the contract's error body, its `code`
 * limited to the route's codes.
 *
 * @example
 * const document = openApiDocument([HEALTH_ROUTES.health, PUBLISH_ROUTE], "1.2.0");
 */
export function openApiDocument(routes: readonly RouteSpec[], version: string): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "hub gateway HTTP API",
      version,
      description:
        "The HTTP routes of a gateway node, on PORT beside Socket.IO (`/socket.io/`, described in docs/protocol.md). " +
        'Every failure is `{ error: { code, message, issues } }` with the code\'s status (docs/protocol.md "Error codes"); ' +
        "a path no route matches answers 404 `not_found`. Request bodies may be gzip, deflate or br encoded; at most 1 MB.",
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: { Error: errorBody(errorCodesOn("http")) },
    },
  };
}

/** `/api/v1/dlq/:stream/entries` -> `/api/v1/dlq/{stream}/entries`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function operation(route: RouteSpec): Record<string, unknown> {
  const parameters = [...parametersOf(route.params, "path"), ...parametersOf(route.query, "query")];
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: SECURITY[route.security],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            // An empty body reads as `{}`: a body is required when its schema requires a property.
            required: route.bodyCheckedBy !== undefined || ((route.body as { required?: string[] }).required?.length ?? 0) > 0,
            ...(route.bodyCheckedBy ? { description: `Checked by ${route.bodyCheckedBy}.` } : {}),
            content: { "application/json": { schema: json(route.body) } },
          },
        }
      : {}),
    responses: responsesOf(route),
  };
}

function parametersOf(schema: TObject | undefined, where: "path" | "query"): unknown[] {
  if (schema === undefined) return [];
  const required = new Set<string>(schema.required ?? []);
  return Object.entries(schema.properties as Record<string, TSchema>).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: json(property),
  }));
}

function responsesOf(route: RouteSpec): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, { description, schema, contentType = "application/json" }] of Object.entries(route.responses)) {
    responses[status] = { description, content: { [contentType]: schema ? { schema: json(schema) } : {} } };
  }
  const byStatus = new Map<number, HttpErrorCode[]>();
  for (const code of route.errors) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: codes.map((c) => `\`${c}\``).join(", "),
      ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      content: { "application/json": { schema: errorBody(codes) } },
    };
  }
  return responses;
}

/** The contract's error body, with `code` one of `codes`. */
function errorBody(codes: readonly HttpErrorCode[]): Record<string, unknown> {
  return {
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message", "issues"],
        properties: {
          code: { type: "string", enum: [...codes], description: "stable: callers branch on it" },
          message: { type: "string", description: "for people; may change" },
          issues: {
            type: "array",
            items: { type: "string" },
            description: "what was wrong with the input, one line each; empty when nothing to add",
          },
        },
      },
    },
  };
}

/** A TypeBox schema as plain JSON Schema (TypeBox's symbol keys dropped). */
function json(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}
