import { ProtocolError, type ServicePrincipal } from "@hub/events";
import type { Request, RequestHandler } from "express";
import { bearerToken } from "../auth/bearer.js";
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
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) throw new HttpError("unauthorized", "Authorization: Bearer <service token> is required");
  let principal: Awaited<ReturnType<TokenVerifier["verify"]>>;
  try {
    principal = await verifier.verify(token);
  } catch (error) {
    const code = error instanceof ProtocolError ? error.code : "token_invalid";
    throw new HttpError("unauthorized", `service token rejected: ${code}`);
  }
  if (principal.kind !== "service") throw new HttpError("forbidden", "this route takes a service token, not a user token");
  return principal;
}
