// POST /v1/models/:id/infer — one paid inference. The order matters: the request is checked before any payment is
// looked at (bad input never costs anything), the payment is checked and held before the model runs, and the answer
// leaves only once the payment is final (a voucher durable in the ledger, an `exact` payment mined). A call that fails
// after its payment was held is not charged, and its error says so.
import type { Request, Response } from "express";
import type { Hex } from "viem";
import { tensorsSha256 } from "../../sdk/tensors.ts";
import { caip2, V1_NETWORKS } from "../../sdk/x402/networks.ts";
import { VOUCHER_SCHEME } from "../../sdk/x402/voucher-scheme.ts";
import type { ModelCatalog, ServedModel } from "../models/catalog.ts";
import { parseModelId } from "../models/catalog.ts";
import { outputsToJson, parseInferRequest, parseInputs, type InputLimits } from "../models/tensors.ts";
import type { ExactPayments } from "../payments/exact-payments.ts";
import { decodePaymentHeader, encodeHeaderJson, type DecodedPayment } from "../payments/headers.ts";
import type { PaymentHold } from "../payments/hold.ts";
import type { ReceiptSigner } from "../payments/receipt-signer.ts";
import { acceptsFor, paymentRequired, v1Accepts, type PaymentTerms } from "../payments/requirements.ts";
import type { VoucherPayments } from "../payments/voucher-payments.ts";
import type { GatewayMetrics } from "../metrics.ts";
import { ApiError, PaymentError, toErrorResponse } from "./errors.ts";

export interface InferDeps {
  catalog: ModelCatalog;
  terms: PaymentTerms;
  vouchers: VoucherPayments;
  exact: ExactPayments | undefined;
  receipts: ReceiptSigner;
  metrics: GatewayMetrics;
  limits: Partial<InputLimits>;
  /** The public base URL clients reach the gateway at (for x402's `resource.url`). */
  publicUrl: string | undefined;
  /** Answer calls without payment, free. */
  serveUnpaid: boolean;
}

export function inferHandler(deps: InferDeps) {
  const network = caip2(deps.terms.chainId);
  const v1Network = V1_NETWORKS[deps.terms.chainId];

  function resourceUrl(req: Request): string {
    return `${deps.publicUrl ?? `${req.protocol}://${req.get("host") ?? "localhost"}`}${req.originalUrl}`;
  }

  function describe(model: ServedModel): string {
    return `inference on model ${model.modelId} (version ${model.version}) at ${model.pricePerCall} base units per call`;
  }

  /** A 402: PAYMENT-REQUIRED (version 2) header, and a JSON body that version 1 clients can read too. */
  function askForPayment(req: Request, res: Response, model: ServedModel, error: PaymentError): void {
    const priced = { modelId: model.modelId, price: model.pricePerCall, payTo: model.shares };
    const url = resourceUrl(req);
    const required = paymentRequired(url, acceptsFor(deps.terms, priced, error.resync), error.code, describe(model));
    const v1 = v1Accepts(deps.terms, priced, url, describe(model));
    res.status(error.status).set("PAYMENT-REQUIRED", encodeHeaderJson(required)).set("Cache-Control", "no-store");
    // The header is what x402 clients read; the body repeats it for people (and is version 1's 402 where it exists).
    const body = v1 ? { ...error.toJSON(), x402Version: 1, accepts: v1 } : { ...required, ...error.toJSON() };
    res.json(body);
  }

  function decode(req: Request): DecodedPayment | undefined {
    const v2 = req.get("PAYMENT-SIGNATURE");
    if (v2 !== undefined) return decodePaymentHeader(v2, 2);
    const v1 = req.get("X-PAYMENT");
    if (v1 !== undefined) return decodePaymentHeader(v1, 1);
    return undefined;
  }

  async function hold(payment: DecodedPayment, model: ServedModel, inputSha256: Hex): Promise<PaymentHold> {
    const expectedNetwork = payment.x402Version === 2 ? network : v1Network;
    if (payment.network !== expectedNetwork) {
      throw new PaymentError("wrong_network", `the payment is for network ${payment.network}; this gateway takes ${expectedNetwork ?? network}`);
    }
    if (payment.scheme === VOUCHER_SCHEME && payment.x402Version === 2) {
      return deps.vouchers.check(payment.payload, { modelId: model.modelId, price: model.pricePerCall, inputSha256 });
    }
    if (payment.scheme === "exact" && deps.exact) {
      return deps.exact.check(payment.payload, { modelId: model.modelId, price: model.pricePerCall, payTo: model.shares });
    }
    throw new PaymentError("unsupported_scheme", `scheme "${payment.scheme}" (x402 version ${payment.x402Version}) is not accepted here`);
  }

  return async function infer(req: Request, res: Response): Promise<void> {
    const started = performance.now();
    let model: ServedModel | undefined;
    let held: PaymentHold | undefined;
    try {
      const modelId = parseModelId(String(req.params.id));
      const request = parseInferRequest(req.body);
      model = deps.catalog.peek(modelId, request.version) ?? (await deps.catalog.load(modelId, request.version));
      if (model.paused) throw new ApiError(403, "model_paused", `model ${modelId} is paused by its owner and takes no new calls`);
      const inputs = parseInputs(model.inputs, request.inputs, deps.limits);

      let payment: DecodedPayment | undefined;
      try {
        payment = decode(req);
      } catch (error) {
        deps.metrics.payments.inc({ scheme: "unknown", result: "malformed" });
        throw error;
      }
      if (!payment && deps.serveUnpaid) {
        const outputs = await model.run(inputs);
        deps.metrics.payments.inc({ scheme: "none", result: "free" });
        res.json({ model: { id: model.modelId.toString(), version: model.version, weightsSha256: model.weightsSha256 }, outputs: outputsToJson(outputs) });
        return;
      }
      if (!payment) {
        deps.metrics.payments.inc({ scheme: "none", result: "required" });
        return askForPayment(req, res, model, new PaymentError("payment_required", `this call costs ${model.pricePerCall} base units: pay with x402 (PAYMENT-SIGNATURE)`));
      }

      const inputSha256 = tensorsSha256(inputs);
      const verifyStarted = performance.now();
      held = await hold(payment, model, inputSha256);
      deps.metrics.verifySeconds.observe({ scheme: held.scheme }, (performance.now() - verifyStarted) / 1000);

      let outputs;
      try {
        outputs = await model.run(inputs);
      } catch (error) {
        // The call failed after its payment was held: nothing is charged, and the error says so.
        deps.metrics.payments.inc({ scheme: held.scheme, result: "released" });
        const released = held.release();
        held = undefined;
        const { status, body } = toErrorResponse(error);
        res.status(status).json({ ...body, payment: released });
        return;
      }

      // The receipt is signed while the payment is made final (the ledger's fsync, or the exact transfer mined), and
      // goes out only if that succeeds.
      const [committed, receipt] = await Promise.all([
        held.commit(),
        deps.receipts.sign({
          modelId: model.modelId,
          version: model.version,
          weightsSha256: model.weightsSha256,
          inputSha256,
          outputSha256: tensorsSha256(outputs),
          payer: held.payer,
          ...held.receipt,
        }),
      ]);
      const scheme = held.scheme;
      held = undefined;
      deps.metrics.payments.inc({ scheme, result: "paid" });
      const response = { ...committed.response, extra: { ...committed.response.extra, receipt } };
      res.set(payment.x402Version === 2 ? "PAYMENT-RESPONSE" : "X-PAYMENT-RESPONSE", encodeHeaderJson(response));
      res.json({
        model: { id: model.modelId.toString(), version: model.version, weightsSha256: model.weightsSha256 },
        outputs: outputsToJson(outputs),
        payment: committed.summary,
        receipt,
      });
    } catch (error) {
      if (held) held.release();
      if (error instanceof PaymentError && error.status === 402 && model) return askForPayment(req, res, model, error);
      throw error;
    } finally {
      deps.metrics.inferSeconds.observe((performance.now() - started) / 1000);
    }
  };
}
