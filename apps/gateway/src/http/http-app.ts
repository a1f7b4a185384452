import express, { type ErrorRequestHandler, type Request, type Router } from "express";
import type { Logger } from "pino";
import { HttpError } from "./http-error.js";

export interface HttpAppOptions {
  routers: readonly Router[];
  logger: Logger;
  /** While true, responses close their connection, so keep-alive clients reconnect elsewhere. */
  draining: () => boolean;
}

/** The express app: the given routes (each parses its own body, after auth), JSON errors for the rest. */
export function createHttpApp({ routers, logger, draining }: HttpAppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use((_req, res, next) => {
    if (draining()) res.setHeader("connection", "close");
    next();
  });
  for (const router of routers) app.use(router);
  app.use((_req, _res, next) => next(new HttpError("not_found", "no such route")));
  app.use(errorHandler(logger));
  return app;
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const failure = toHttpError(error, req);
    if (failure.status >= 500) logger.error({ err: error, path: req.path }, "request failed");
    res.status(failure.status).json(failure);
  };
}

function toHttpError(error: unknown, req: Request): HttpError {
  if (error instanceof HttpError) return error;
  const { type, status } = (error ?? {}) as { type?: unknown; status?: unknown };
  if (type === "entity.too.large") return new HttpError("payload_too_large", "request body is too large");
  if (type === "entity.parse.failed") return new HttpError("bad_request", "request body is not valid JSON");
  if ((typeof type === "string" && type.startsWith("encoding.")) || type === "charset.unsupported") {
    return new HttpError("bad_request", "unsupported body encoding", [], 415);
  }
  // body-parser hands on the decompression stream's own error, with status 400 and no type.
  const encoding = req.headers["content-encoding"]?.toLowerCase();
  if (status === 400 && type === undefined && encoding !== undefined && encoding !== "identity") {
    return new HttpError("bad_request", `request body is not valid ${encoding} data`);
  }
  return new HttpError("internal", "internal error");
}
