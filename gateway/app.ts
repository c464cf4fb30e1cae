// The gateway's Express application: routes, body limits, request metrics and the one error handler. Built from
// already-running parts (catalog, payments, metrics), so it holds no lifecycle of its own (see server.ts).
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { StorageAdapter } from "../sdk/storage/types.ts";
import { toErrorResponse } from "./http/errors.ts";
import { inferHandler, type InferDeps } from "./http/infer.ts";
import { ipfsRouter } from "./http/ipfs.ts";
import { listModelsHandler, showModelHandler } from "./http/models.ts";
import { healthHandler, metricsHandler, readyHandler, settleHandler, type Readiness } from "./http/ops.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { SettlementRound } from "./settlement/result.ts";
import { ApiError } from "./http/errors.ts";

export interface AppDeps extends InferDeps {
  metrics: GatewayMetrics;
  logger: Logger;
  readiness: Readiness;
  bodyLimit: string;
  /** The local content-addressed store, served at /ipfs/<cid> (only when storage is local). */
  localStorage: StorageAdapter | undefined;
  settleNow: ((all: boolean) => Promise<SettlementRound>) | undefined;
}

/** Wraps an async handler so its rejection reaches the error handler (Express 5 does this too; explicit is clearer). */
const route = (handler: (req: Request, res: Response) => Promise<void> | void) => (req: Request, res: Response, next: NextFunction) =>
  Promise.resolve(handler(req, res)).catch(next);

export function createApp(deps: AppDeps) {
  const app = express();
  app.disable("x-powered-by");
  // JSON answers are unique per call (receipts): an ETag would cost a hash per response for nothing.
  app.set("etag", false);

  app.use((req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      const routePath = (req.route as { path?: string } | undefined)?.path ?? "unmatched";
      deps.metrics.requests.observe({ method: req.method, route: routePath, status: String(res.statusCode) }, (performance.now() - started) / 1000);
    });
    next();
  });

  app.get("/healthz", healthHandler());
  app.get("/readyz", readyHandler(deps.readiness));
  app.get("/metrics", route(metricsHandler(deps.metrics.registry)));
  app.get("/v1/models", route(listModelsHandler(deps.catalog)));
  app.get("/v1/models/:id", route(showModelHandler(deps.catalog, deps.terms)));
  app.post(
    "/v1/models/:id/infer",
    (req, _res, next) => {
      // Only JSON bodies: anything else would reach the handler as an empty body and read as a confusing error.
      if (!req.is("application/json")) return next(new ApiError(415, "unsupported_media_type", "send the inputs as JSON (content-type: application/json)"));
      next();
    },
    express.json({ limit: deps.bodyLimit, strict: true }),
    route(inferHandler(deps)),
  );
  if (deps.settleNow) app.post("/v1/admin/settle", express.json({ limit: "1kb" }), route(settleHandler(deps.settleNow)));
  if (deps.localStorage) app.use("/ipfs", ipfsRouter(deps.localStorage));

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new ApiError(404, "not_found", `no route for ${req.method} ${req.path}`));
  });
  // Express recognises an error handler by its four parameters.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body, internal } = toErrorResponse(error);
    if (internal) deps.logger.error({ err: error, path: req.path }, "request failed");
    if (res.headersSent) return res.end();
    // 503s (chain, ledger or storage unreachable) are worth retrying shortly.
    if (status === 503) res.set("Retry-After", "5");
    res.status(status).json(body);
  });
  return app;
}
