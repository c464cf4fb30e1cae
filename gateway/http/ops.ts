// Operations endpoints: /healthz (the process answers), /readyz (it can take paid calls: chain readable, ledger
// open, not shutting down), /metrics (Prometheus), and POST /v1/admin/settle (force a settlement round; loopback
// only, for `modelshare settle --gateway`).
import type { Request, Response } from "express";
import type { Registry } from "prom-client";
import { SettlementLockedError } from "../settlement/errors.ts";
import { roundToJson, type SettlementRound } from "../settlement/result.ts";
import { ApiError } from "./errors.ts";

export interface Readiness {
  /** Why the gateway is not ready, or an empty list. */
  problems(): string[];
}

export function healthHandler() {
  return (_req: Request, res: Response) => {
    res.json({ status: "ok" });
  };
}

export function readyHandler(readiness: Readiness) {
  return (_req: Request, res: Response) => {
    const problems = readiness.problems();
    res.status(problems.length ? 503 : 200).json(problems.length ? { status: "not ready", problems } : { status: "ready" });
  };
}

export function metricsHandler(registry: Registry) {
  return async (_req: Request, res: Response) => {
    res.set("Content-Type", registry.contentType).send(await registry.metrics());
  };
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** Forces a settlement round; `{ "all": true }` settles every lane that owes anything, not only those due. */
export function settleHandler(runOnce: (all: boolean) => Promise<SettlementRound>) {
  return async (req: Request, res: Response) => {
    if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) {
      throw new ApiError(403, "forbidden", "settlement can only be forced from the gateway's own machine");
    }
    const body: unknown = req.body;
    const all = typeof body === "object" && body !== null && (body as { all?: unknown }).all === true;
    try {
      res.json(roundToJson(await runOnce(all)));
    } catch (error) {
      // Another settler (a `modelshare settle`, another replica) holds the operator's lock: try again later.
      if (error instanceof SettlementLockedError) throw new ApiError(409, "settlement_locked", error.message);
      throw error;
    }
  };
}
