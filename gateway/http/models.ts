// GET /v1/models and GET /v1/models/:id — what this gateway serves: price, fees, version, weights hash, the ONNX
// input/output signature, and the x402 payment options, so a client can pay its first call without a 402 round trip.
import type { Request, Response } from "express";
import { listingToJson, parseModelId, type ModelCatalog, type ServedModel } from "../models/catalog.ts";
import { acceptsFor, type PaymentTerms } from "../payments/requirements.ts";
import { ApiError } from "./errors.ts";

function describeModel(model: ServedModel, terms: PaymentTerms) {
  return {
    modelId: model.modelId.toString(),
    version: model.version,
    latestVersion: model.latestVersion,
    weightsSha256: model.weightsSha256,
    weightsCid: model.weightsCid,
    pricePerCall: model.pricePerCall.toString(),
    operatorFeeBps: model.operatorFeeBps,
    paused: model.paused,
    shares: model.shares,
    inputs: model.inputs,
    outputs: model.outputs,
    accepts: acceptsFor(terms, { modelId: model.modelId, price: model.pricePerCall, payTo: model.shares }),
  };
}

export function listModelsHandler(catalog: ModelCatalog) {
  return async (_req: Request, res: Response) => {
    const rows = await catalog.list();
    res.json({ models: rows.map(listingToJson) });
  };
}

export function showModelHandler(catalog: ModelCatalog, terms: PaymentTerms) {
  return async (req: Request, res: Response) => {
    const modelId = parseModelId(String(req.params.id));
    const versionText = req.query.version;
    let version: number | undefined;
    if (versionText !== undefined) {
      if (typeof versionText !== "string" || !/^[1-9]\d{0,9}$/.test(versionText) || Number(versionText) > 2 ** 32 - 1) {
        throw new ApiError(400, "bad_request", `?version must be a positive integer, got ${JSON.stringify(versionText)}`);
      }
      version = Number(versionText);
    }
    const model = catalog.peek(modelId, version) ?? (await catalog.load(modelId, version));
    res.json(describeModel(model, terms));
  };
}
