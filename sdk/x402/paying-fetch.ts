// createPayingFetch: a fetch that pays a Modelshare gateway by itself. Built on @x402/core (x402Client picks the
// payment option and runs the scheme clients and their hooks, x402HTTPClient reads and writes the headers), with
// the voucher scheme's client for high-volume calls and @x402/evm's `exact` client for one transfer per call.
//
// Unlike @x402/fetch it does not send every call twice (unpaid, then paid): it pays the first call from the model's
// `accepts` (GET /v1/models/:id) or from the first 402 of a resource, and reuses those requirements afterwards.
// Each call then runs:
//   sign → send → PAYMENT-RESPONSE: lane adopted, receipt checked against what was sent and received → answer
//   corrective 402 (voucher_out_of_sync): the gateway's signed lane state adopted, paid again (at most twice)
//   409 lane_busy: another lane                      a lost answer: the same voucher and body again (the gateway
//   402 with new terms (price changed): once more     answers an identical retry without charging twice)
// A failed call (`payment.charged: false`) frees its lane without advancing it.
//
// Receipts: every paid answer's receipt is checked — the operator's signature, payer, model, payment, cumulative, and
// the sha256 of the inputs sent and the outputs received. One that does not match makes the call throw a
// ReceiptError (it carries the response); a caller that prefers to inspect answers itself sets verifyReceipts: false.
import { x402Client, x402HTTPClient } from "@x402/core/client";
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from "@x402/core/types";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { getAddress, isAddressEqual, type Address, type Hex, type LocalAccount, type PublicClient } from "viem";
import type { SignedReceiptJson } from "../receipts.ts";
import type { JsonTensor } from "../tensors.ts";
import { checkAnswer, type AnswerBody } from "./answer-check.ts";
import { GatewayError, GatewayUnreachableError, PriceTooHighError, ReceiptError } from "./errors.ts";
import type { LaneStore } from "./lane-store.ts";
import { fetchModelInfo, inputTypes, type GatewayModelInfo } from "./model-info.ts";
import { chainIdOf } from "./networks.ts";
import { OUT_OF_SYNC, VOUCHER_SCHEME, voucherRequirementsExtraSchema } from "./voucher-scheme.ts";
import { VoucherSchemeClient, voucherReceiptExpectation } from "./voucher-client.ts";

export interface PayingFetchOptions {
  /** Signs payments: the payer's key, or a session key the payer registered on the vault (then set `payer`). */
  account: LocalAccount;
  /** The payer, when `account` is one of its session keys (vouchers only: `exact` needs the payer's own key). */
  payer?: Address;
  /** The fetch to send requests with (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Which x402 scheme to pay with when the gateway offers both (default "voucher"). */
  prefer?: "voucher" | "exact";
  /** Refuses to pay more than this per call, in the stablecoin's base units. */
  maxPricePerCall: bigint;
  /** Checks every receipt (default true). */
  verifyReceipts?: boolean;
  /** Keeps voucher lane states (default: in memory; a JsonFileLaneStore keeps them across restarts). */
  laneStore?: LaneStore;
  /** Reads the vault: needed only to check a lane state a gateway offers without a signature. */
  publicClient?: PublicClient;
  /** The vault vouchers and receipts must be for (default: the one the gateway names). */
  vault?: Address;
  /** How long each voucher stays settleable, in seconds (default one day; 0 for no expiry). */
  voucherLifetimeSeconds?: number;
  /** At most this many calls in flight per model (default: the gateway's lane count); more wait their turn. */
  maxLanes?: number;
  /** How often a paid request is sent again with the same payment after a network error (default 2). */
  retries?: number;
  /** Base URL of the gateway, for `infer`. */
  gateway?: string;
}

/** The payment behind one paid answer. */
export interface PaidCall {
  scheme: typeof VOUCHER_SCHEME | "exact";
  payer: Address;
  /** Charged for this call; 0 when the gateway answered an identical retry of a call already paid for. */
  amount: bigint;
  /** Voucher: the lane, and its cumulative amount and call count including this call. */
  lane?: number;
  cumulativeAmount: bigint;
  cumulativeCalls?: bigint;
  /** Exact: the transaction that paid. */
  transaction?: Hex;
  replay: boolean;
  receipt: SignedReceiptJson;
  /** True when the receipt was checked (verifyReceipts); a receipt that fails the check throws instead. */
  receiptVerified: boolean;
  /** The PAYMENT-RESPONSE as the gateway sent it. */
  settlement: SettleResponse;
}

export interface InferResult {
  model: { id: string; version: number; weightsSha256: Hex };
  outputs: Record<string, JsonTensor>;
  payment: PaidCall;
}

export interface PayingFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The payment and receipt of a response this fetch returned, or undefined when it was not a paid answer. */
  paid(response: Response): PaidCall | undefined;
  /** POSTs `{ inputs, version? }` to `<gateway>/v1/models/<id>/infer`; throws a GatewayError for any error answer. */
  infer(modelId: bigint | number | string, inputs: Record<string, unknown>, options?: { version?: number; gateway?: string }): Promise<InferResult>;
  readonly vouchers: VoucherSchemeClient;
  readonly x402: x402Client;
}

/** A request to a Modelshare gateway's infer route, as far as payment and receipts are concerned. */
interface InferTarget {
  origin: string;
  modelId: string;
  version: number | undefined;
  body: unknown;
}

const INFER_PATH = /^\/v1\/models\/(0|[1-9]\d{0,77})\/infer\/?$/;
const MAX_RESYNCS = 2;

export function createPayingFetch(options: PayingFetchOptions): PayingFetch {
  const baseFetch = options.fetch ?? globalThis.fetch;
  const account = options.account;
  const payer = getAddress(options.payer ?? account.address);
  const sessionKey = !isAddressEqual(payer, account.address);
  const prefer = options.prefer ?? "voucher";
  if (prefer === "exact" && sessionKey) throw new Error("x402 exact payments are signed with the payer's own key; a session key can only sign vouchers");
  const verifyReceipts = options.verifyReceipts ?? true;
  const retries = options.retries ?? 2;

  const vouchers = new VoucherSchemeClient({
    signer: account,
    payer,
    laneStore: options.laneStore,
    maxPricePerCall: options.maxPricePerCall,
    vault: options.vault,
    publicClient: options.publicClient,
    voucherLifetimeSeconds: options.voucherLifetimeSeconds,
    maxLanes: options.maxLanes,
    // Checked here instead, with the input and output hashes the hook cannot see.
    verifyReceipts: false,
  });
  const preferred = prefer === "exact" ? "exact" : VOUCHER_SCHEME;
  const x402 = new x402Client((_version, accepts) => accepts.find((a) => a.scheme === preferred) ?? accepts[0]!);
  x402.register("eip155:*", vouchers);
  if (!sessionKey) x402.register("eip155:*", new ExactEvmScheme(account));
  // The limit that applies is maxPricePerCall, in base units of whatever stablecoin the gateway names.
  x402.setSpendControls(false);
  x402.registerPolicy((_version, accepts) => accepts.filter((a) => BigInt(a.amount) <= options.maxPricePerCall));
  const http = new x402HTTPClient(x402);

  const paidCalls = new WeakMap<Response, PaidCall>();
  const requirements = new Map<string, PaymentRequired>();
  const modelInfo = new Map<string, Promise<GatewayModelInfo>>();

  function infoFor(target: InferTarget, fresh = false): Promise<GatewayModelInfo> {
    const key = `${target.origin} ${target.modelId} ${target.version ?? ""}`;
    let info = fresh ? undefined : modelInfo.get(key);
    if (!info) {
      info = fetchModelInfo(baseFetch, target.origin, target.modelId, target.version);
      modelInfo.set(key, info);
      info.catch(() => modelInfo.delete(key));
    }
    return info;
  }

  function requirementsKey(request: Request, target: InferTarget | undefined): string {
    return target ? `${target.origin} ${target.modelId} ${target.version ?? ""}` : `${request.method} ${request.url}`;
  }

  /** Requirements to pay a request with before asking: cached, or from the model's description. */
  async function knownRequirements(request: Request, target: InferTarget | undefined): Promise<PaymentRequired | undefined> {
    const cached = requirements.get(requirementsKey(request, target));
    if (cached || !target) return cached;
    let info: GatewayModelInfo;
    try {
      info = await infoFor(target);
    } catch {
      return undefined; // not described: learn the terms from a 402 instead
    }
    if (info.accepts.length === 0) return undefined;
    const required: PaymentRequired = { x402Version: 2, resource: { url: request.url, description: "", mimeType: "application/json" }, accepts: info.accepts };
    requirements.set(requirementsKey(request, target), required);
    return required;
  }

  async function send(request: Request): Promise<Response> {
    try {
      return await baseFetch(request);
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw new GatewayUnreachableError(request.url, error);
    }
  }

  /** Sends a paid request; after a network error, the very same request again (same payment, same body). */
  async function sendPaid(build: () => Request): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const request = build();
      try {
        return await baseFetch(request);
      } catch (error) {
        if (request.signal.aborted) throw error;
        if (attempt >= retries) throw new GatewayUnreachableError(request.url, error);
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  function checkPrice(required: PaymentRequired): void {
    const usable = required.accepts.filter((a) => a.scheme === VOUCHER_SCHEME || (a.scheme === "exact" && !sessionKey));
    if (usable.length === 0 || usable.some((a) => BigInt(a.amount) <= options.maxPricePerCall)) return;
    const cheapest = usable.reduce((a, b) => (BigInt(a.amount) <= BigInt(b.amount) ? a : b));
    throw new PriceTooHighError(BigInt(cheapest.amount), options.maxPricePerCall, required.resource.url);
  }

  async function payingFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    // Kept as bytes: a paid request may be sent several times, and its inputs are hashed for the receipt.
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const target = inferTarget(request, body);
    const build = (payment: Record<string, string> = {}) => {
      const headers = new Headers(request.headers);
      for (const [name, value] of Object.entries(payment)) headers.set(name, value);
      return new Request(request.url, { method: request.method, headers, body, signal: request.signal, redirect: request.redirect });
    };

    let required = await knownRequirements(request, target);
    if (!required) {
      const first = await send(build());
      if (first.status !== 402) return first;
      const text = await first.clone().text();
      try {
        required = http.getPaymentRequiredResponse((name) => first.headers.get(name), text ? JSON.parse(text) : undefined);
      } catch {
        return first; // a 402 that is not x402: nothing this client can pay
      }
      requirements.set(requirementsKey(request, target), withoutResync(required));
      await first.body?.cancel();
    }

    let resyncs = 0;
    let busy = 0;
    let renewed = false;
    for (;;) {
      checkPrice(required);
      const payload = await x402.createPaymentPayload(required);
      const headers = http.encodePaymentSignatureHeader(payload);
      const isVoucher = payload.accepted.scheme === VOUCHER_SCHEME;
      let response: Response;
      try {
        response = await sendPaid(() => build(headers));
      } catch (error) {
        if (isVoucher) vouchers.abandon(payload.payload);
        throw error;
      }

      if (response.status === 409 && isVoucher) {
        vouchers.laneBusy(payload.payload);
        if (++busy <= laneBudget(payload)) {
          await response.body?.cancel();
          continue;
        }
        return response;
      }
      const result = await http.processPaymentResult(payload, (name) => response.headers.get(name), response.status);
      if (result.recovered && ++resyncs <= MAX_RESYNCS) {
        await response.body?.cancel();
        continue;
      }
      if (response.ok && result.settleResponse?.success) return finish(response, payload, result.settleResponse, target);
      if (response.status === 402 && !renewed && !result.recovered) {
        // New terms (the price changed, say): pay once more with them.
        const fresh = readRequired(response);
        if (fresh && fresh.error !== OUT_OF_SYNC && termsChanged(required, fresh)) {
          renewed = true;
          required = withoutResync(fresh);
          requirements.set(requirementsKey(request, target), required);
          await response.body?.cancel();
          continue;
        }
      }
      return response;
    }
  }

  function laneBudget(payload: PaymentPayload): number {
    const extra = voucherRequirementsExtraSchema.safeParse(payload.accepted.extra);
    return Math.min(extra.success ? extra.data.maxLanes : 1, options.maxLanes ?? Number.MAX_SAFE_INTEGER);
  }

  function readRequired(response: Response): PaymentRequired | undefined {
    try {
      return http.getPaymentRequiredResponse((name) => response.headers.get(name));
    } catch {
      return undefined;
    }
  }

  async function finish(response: Response, payload: PaymentPayload, settlement: SettleResponse, target: InferTarget | undefined): Promise<Response> {
    const receipt = settlement.extra?.receipt as SignedReceiptJson | undefined;
    const isVoucher = payload.accepted.scheme === VOUCHER_SCHEME;
    const paid = describePayment(payload, settlement, receipt, isVoucher);
    if (!verifyReceipts) {
      paidCalls.set(response, paid);
      return response;
    }
    const text = await response.text();
    const copy = new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    let answer: AnswerBody;
    try {
      answer = JSON.parse(text) as AnswerBody;
    } catch {
      throw new ReceiptError("the paid answer is not JSON", receipt, copy);
    }
    const check = await checkPaidAnswer(payload, receipt, answer, target);
    if (!check.ok) throw new ReceiptError(check.reason, receipt, copy);
    paid.receiptVerified = true;
    paid.replay = answer.payment?.replay === true;
    paidCalls.set(copy, paid);
    return copy;
  }

  async function checkPaidAnswer(payload: PaymentPayload, receipt: SignedReceiptJson | undefined, answer: AnswerBody, target: InferTarget | undefined) {
    if (!target) return { ok: false as const, reason: "only answers of /v1/models/:id/infer can be checked; set verifyReceipts: false for other routes" };
    const chainId = chainIdOf(payload.accepted.network);
    if (chainId === undefined) return { ok: false as const, reason: `unknown network ${payload.accepted.network}` };
    let context: { vault: Address; expected: Parameters<typeof checkAnswer>[0]["expected"] };
    if (payload.accepted.scheme === VOUCHER_SCHEME) {
      const sent = vouchers.sent(payload.payload, payload.accepted);
      context = { vault: sent.scope.vault, expected: voucherReceiptExpectation(sent) };
    } else {
      const voucherTerms = requirementsFor(target)?.accepts.find((a) => a.scheme === VOUCHER_SCHEME);
      const vault = options.vault ?? (voucherTerms ? getAddress(voucherTerms.payTo) : undefined);
      if (!vault) return { ok: false as const, reason: "the vault the receipt is signed for is unknown; pass `vault`" };
      const operator = voucherTerms?.extra.operator as Address | undefined;
      const authorization = (payload.payload as { authorization?: { nonce?: Hex; value?: string } }).authorization;
      context = {
        vault,
        expected: {
          payer,
          modelId: BigInt(target.modelId),
          payment: authorization?.nonce,
          cumulativeAmount: BigInt(authorization?.value ?? -1),
          callIndex: 1n,
          ...(operator ? { operator } : {}),
        },
      };
    }
    const run = async (fresh: boolean) =>
      checkAnswer({
        chainId,
        vault: context.vault,
        expected: context.expected,
        receipt,
        requestBody: target.body,
        answer,
        inputTypes: needsTypes(target.body) ? inputTypes(await infoFor(target, fresh)) : {},
        version: target.version,
      });
    let check = await run(false).catch((error: Error) => ({ ok: false as const, reason: error.message }));
    // The model may have a new version with other input types than the description cached: read it again once.
    if (!check.ok && /inputSha256/.test(check.reason) && needsTypes(target.body)) {
      check = await run(true).catch((error: Error) => ({ ok: false as const, reason: error.message }));
    }
    return check;
  }

  function requirementsFor(target: InferTarget): PaymentRequired | undefined {
    return requirements.get(`${target.origin} ${target.modelId} ${target.version ?? ""}`);
  }

  function describePayment(payload: PaymentPayload, settlement: SettleResponse, receipt: SignedReceiptJson | undefined, isVoucher: boolean): PaidCall {
    const base = {
      payer,
      amount: BigInt(settlement.amount ?? payload.accepted.amount),
      replay: false,
      receipt: receipt as SignedReceiptJson,
      receiptVerified: false,
      settlement,
    };
    if (isVoucher) {
      const { voucher } = vouchers.sent(payload.payload, payload.accepted);
      return { ...base, scheme: VOUCHER_SCHEME, lane: voucher.lane, cumulativeAmount: voucher.cumulativeAmount, cumulativeCalls: voucher.cumulativeCalls };
    }
    return { ...base, scheme: "exact", cumulativeAmount: base.amount, transaction: settlement.transaction as Hex };
  }

  const fetcher = payingFetch as PayingFetch;
  Object.defineProperties(fetcher, {
    paid: { value: (response: Response) => paidCalls.get(response) },
    vouchers: { value: vouchers },
    x402: { value: x402 },
    infer: {
      value: async (modelId: bigint | number | string, inputs: Record<string, unknown>, call: { version?: number; gateway?: string } = {}): Promise<InferResult> => {
        const gateway = call.gateway ?? options.gateway;
        if (!gateway) throw new Error("infer needs the gateway's URL: pass { gateway } to createPayingFetch or to infer");
        const response = await payingFetch(`${gateway.replace(/\/+$/, "")}/v1/models/${modelId}/infer`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ inputs, ...(call.version === undefined ? {} : { version: call.version }) }),
        });
        const text = await response.text();
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // reported below
        }
        if (!response.ok) {
          const error = json.error as { code?: string; message?: string } | undefined;
          throw new GatewayError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? (text.slice(0, 200) || response.statusText), json.payment as Record<string, unknown> | undefined);
        }
        const payment = paidCalls.get(response);
        if (!payment) throw new GatewayError(response.status, "not_paid", "the gateway answered without a payment response");
        return { model: json.model as InferResult["model"], outputs: json.outputs as Record<string, JsonTensor>, payment };
      },
    },
  });
  return fetcher;
}

function inferTarget(request: Request, body: Uint8Array | undefined): InferTarget | undefined {
  const url = new URL(request.url);
  const match = INFER_PATH.exec(url.pathname);
  if (!match || request.method !== "POST") return undefined;
  let json: unknown;
  try {
    json = body ? JSON.parse(new TextDecoder().decode(body)) : undefined;
  } catch {
    json = undefined;
  }
  const version = (json as { version?: unknown } | undefined)?.version;
  return { origin: url.origin, modelId: match[1]!, version: typeof version === "number" ? version : undefined, body: json };
}

/** True when some input leaves out its `type`, so hashing it needs the model's signature. */
function needsTypes(body: unknown): boolean {
  const inputs = (body as { inputs?: unknown } | undefined)?.inputs;
  if (typeof inputs !== "object" || inputs === null) return false;
  return Object.values(inputs).some((tensor) => Array.isArray(tensor) || typeof tensor !== "object" || tensor === null || !("type" in tensor));
}

/** A corrective 402's requirements carry one payer's lane states: not something to pay later calls with. */
function withoutResync(required: PaymentRequired): PaymentRequired {
  return {
    ...required,
    error: undefined,
    accepts: required.accepts.map((a) => {
      if (a.scheme !== VOUCHER_SCHEME) return a;
      const { tabs: _tabs, payer: _payer, ...extra } = a.extra as Record<string, unknown>;
      return { ...a, extra };
    }),
  };
}

function termsChanged(before: PaymentRequired, after: PaymentRequired): boolean {
  const summary = (accepts: PaymentRequirements[]) =>
    JSON.stringify(
      accepts.map((a) => [a.scheme, a.network, a.asset, a.amount, a.payTo, (a.extra as { operator?: unknown }).operator ?? null]).sort(),
    );
  return summary(before.accepts) !== summary(after.accepts);
}
