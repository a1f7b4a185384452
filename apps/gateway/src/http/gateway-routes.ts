import { ADMIN_UI_ROUTE } from "../admin/admin-ui.js";
import { CONSOLE_ROUTES } from "./console-routes.js";
import { DEAD_LETTER_ROUTES } from "./dead-letter-routes.js";
import { HEALTH_ROUTES } from "./health-routes.js";
import { INHOUSE_ROUTE } from "./inhouse-routes.js";
import { METRICS_ROUTE } from "./metrics-routes.js";
import { type OpenApiDocument, openApiDocument } from "./openapi-document.js";
import { OPENAPI_ROUTE } from "./openapi-routes.js";
import { PRESENCE_ROUTES } from "./presence-routes.js";
import { PUBLISH_ROUTE } from "./publish-routes.js";
import type { RouteSpec } from "./route-spec.js";
import { RTC_ROUTES } from "./rtc-routes.js";
import { USER_ROUTES } from "./user-routes.js";
import { WEBHOOK_ROUTE } from "./webhook-routes.js";

/**
 * Every HTTP route a gateway may serve (some only with their setting on: the webhook, the console,
 * the admin UI). A test holds this list to the routes a gateway with every setting on registers.
 */
export const GATEWAY_ROUTES: readonly RouteSpec[] = [
  ...Object.values(HEALTH_ROUTES),
  METRICS_ROUTE,
  OPENAPI_ROUTE,
  PUBLISH_ROUTE,
  WEBHOOK_ROUTE,
  ...Object.values(DEAD_LETTER_ROUTES),
  INHOUSE_ROUTE,
  ...Object.values(USER_ROUTES),
  ...Object.values(PRESENCE_ROUTES),
  ...Object.values(RTC_ROUTES),
  ...Object.values(CONSOLE_ROUTES),
  ADMIN_UI_ROUTE,
];

/**
 * The gateway's OpenAPI 3.1 document, served at `GET /openapi.json`.
 *
 * @example
 * const document = gatewayOpenApi(VERSION);
 */
export function gatewayOpenApi(version: string): OpenApiDocument {
  return openApiDocument(GATEWAY_ROUTES, version);
}
