import { ProtocolError, type ServicePrincipal } from "@hub/events";
import type { Request, RequestHandler } from "express";
import type { TokenVerifier } from "../auth/token-verifier.js";
import { HttpError } from "./http-error.js";

/** Middleware: the request must carry a service token (`res.locals.service` is set). */
export function serviceOnly(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    requireService(req, verifier).then((service) => {
      res.locals.service = service;
      next();
    }, next);
  };
}

/** Verifies `Authorization: Bearer <service token>`; throws 401 / 403 `HttpError`s. */
export async function requireService(req: Request, verifier: TokenVerifier): Promise<ServicePrincipal> {
  const header = req.headers.authorization;
  if (!header?.startsWith("Bearer ")) throw new HttpError(401, "unauthorized", "Authorization: Bearer <service token> is required");
  let principal: Awaited<ReturnType<TokenVerifier["verify"]>>;
  try {
    principal = await verifier.verify(header.slice(7).trim());
  } catch (error) {
    const code = error instanceof ProtocolError ? error.code : "token_invalid";
    throw new HttpError(401, "unauthorized", `service token rejected: ${code}`);
  }
  if (principal.kind !== "service") throw new HttpError(403, "forbidden", "this route takes a service token, not a user token");
  return principal;
}
