// The voucher scheme's client, as an @x402/core scheme client: an app that already pays with `x402Client` adds it
// with one `register("eip155:<chainId>", new VoucherSchemeClient({ signer }))`.
//
// For each call it takes a free lane of the tab (payer, operator, model), signs the lane's next voucher (cumulative =
// last + price, calls = last + 1) and holds the lane until the outcome is known. Its `onPaymentResponse` hook then:
//   - on a paid answer, checks the PAYMENT-RESPONSE's lane state is the voucher it signed, adopts it, and (unless
//     told not to) checks the operator's receipt;
//   - on a corrective 402 (`voucher_out_of_sync`), checks each lane state the gateway offers is one the payer signed
//     (or, unsigned, what the vault's tab says), adopts it and returns `{ recovered: true }` so the transport retries;
//   - on anything else, frees the lane without advancing it: a call that was not answered is not paid for.
import type { PaymentResponseContext } from "@x402/core/client";
import type { PaymentPayloadContext, PaymentPayloadResult, PaymentRequirements, SchemeClientHooks, SchemeNetworkClient } from "@x402/core/types";
import { getAddress, isAddressEqual, type Address, type LocalAccount, type PublicClient } from "viem";
import { verifyReceipt, voucherTabKey, type ReceiptExpectation, type SignedReceiptJson } from "../receipts.ts";
import { signVoucher, type Voucher } from "../vouchers.ts";
import { PriceTooHighError, ReceiptError, VoucherResyncError, VoucherStateError } from "./errors.ts";
import { LanePool, type LaneGrant } from "./lane-pool.ts";
import { MemoryLaneStore, scopeKey, type LaneScope, type LaneStore } from "./lane-store.ts";
import { checkOfferedLane } from "./lane-verify.ts";
import { chainIdOf } from "./networks.ts";
import {
  laneStateSchema,
  OUT_OF_SYNC,
  VOUCHER_SCHEME,
  voucherFromJson,
  voucherPayloadSchema,
  voucherRequirementsExtraSchema,
  voucherToJson,
  type LaneState,
  type VoucherPayload,
  type VoucherRequirementsExtra,
} from "./voucher-scheme.ts";

export interface VoucherSchemeClientOptions {
  /** Signs vouchers: the payer's own key, or a session key the payer registered on the vault (then set `payer`). */
  signer: LocalAccount;
  /** The payer whose escrow pays, when `signer` is one of its session keys. Default: the signer itself. */
  payer?: Address;
  /** Where lane states are kept (default: in memory). A JsonFileLaneStore keeps them across restarts. */
  laneStore?: LaneStore;
  /** Refuses requirements above this price per call (base units). */
  maxPricePerCall?: bigint;
  /** The vault vouchers must be signed for; requirements naming another are refused. Default: the requirements' payTo. */
  vault?: Address;
  /** Reads the vault, to check lane states a gateway offers without a signature, or signed by another session key. */
  publicClient?: PublicClient;
  /** How long each voucher stays settleable, in seconds (default one day); 0 signs vouchers without expiry. */
  voucherLifetimeSeconds?: number;
  /** Uses at most this many lanes per tab, i.e. calls in flight per model (default: as many as the gateway allows). */
  maxLanes?: number;
  /** Checks the receipt in each PAYMENT-RESPONSE (default true). Input and output hashes need the request and
   *  response bodies, which only the transport sees: createPayingFetch checks those too. */
  verifyReceipts?: boolean;
  now?: () => number;
}

/** What the client knows about the voucher of one paid request. */
export interface SentVoucher {
  voucher: Voucher;
  scope: LaneScope;
  chainId: number;
}

const DAY_SECONDS = 86_400;
/** A lane held by a call whose outcome was never seen is freed this long after the gateway's payment timeout. */
const LEASE_MARGIN_MS = 5_000;

export class VoucherSchemeClient implements SchemeNetworkClient {
  readonly scheme = VOUCHER_SCHEME;
  readonly schemeHooks: SchemeClientHooks;
  readonly signer: LocalAccount;
  readonly payer: Address;

  readonly #o: VoucherSchemeClientOptions;
  readonly #store: LaneStore;
  readonly #pools = new Map<string, Promise<LanePool>>();
  /** Calls in flight, by voucher signature: which lane each holds. */
  readonly #held = new Map<string, { pool: LanePool; grant: LaneGrant }>();
  readonly #now: () => number;

  constructor(options: VoucherSchemeClientOptions) {
    this.#o = options;
    this.signer = options.signer;
    this.payer = getAddress(options.payer ?? options.signer.address);
    this.#store = options.laneStore ?? new MemoryLaneStore();
    this.#now = options.now ?? Date.now;
    this.schemeHooks = { onPaymentResponse: (ctx) => this.#onPaymentResponse(ctx) };
  }

  async createPaymentPayload(x402Version: number, requirements: PaymentRequirements, context?: PaymentPayloadContext): Promise<PaymentPayloadResult> {
    if (x402Version !== 2) throw new Error(`the voucher scheme needs x402 version 2, not ${x402Version}`);
    const { chainId, vault, extra } = this.#terms(requirements);
    const price = BigInt(requirements.amount);
    const what = `model ${extra.modelId} at ${extra.operator}`;
    if (this.#o.maxPricePerCall !== undefined && price > this.#o.maxPricePerCall) throw new PriceTooHighError(price, this.#o.maxPricePerCall, what);
    if (context?.maxAmountPerPayment !== undefined && price > BigInt(context.maxAmountPerPayment)) {
      throw new PriceTooHighError(price, BigInt(context.maxAmountPerPayment), what);
    }

    const scope = this.#scope(requirements.network, vault, extra.operator, extra.modelId);
    const pool = await this.#pool(scope);
    const maxLanes = Math.min(extra.maxLanes, this.#o.maxLanes ?? Number.MAX_SAFE_INTEGER);
    const grant = await pool.acquire(maxLanes, requirements.maxTimeoutSeconds * 1000 + LEASE_MARGIN_MS);
    try {
      const last = pool.state(grant.lane);
      const lifetime = this.#o.voucherLifetimeSeconds ?? DAY_SECONDS;
      const voucher: Voucher = {
        payer: this.payer,
        operator: getAddress(extra.operator),
        modelId: BigInt(extra.modelId),
        lane: grant.lane,
        cumulativeAmount: BigInt(last?.cumulativeAmount ?? 0) + price,
        cumulativeCalls: BigInt(last?.cumulativeCalls ?? 0) + 1n,
        expiry: lifetime === 0 ? 0n : BigInt(Math.floor(this.#now() / 1000) + lifetime),
      };
      const { signature } = await signVoucher(this.signer, voucher, chainId, vault);
      if (this.#held.size >= 4096) this.#forgetExpired();
      this.#held.set(signature.toLowerCase(), { pool, grant });
      const payload: VoucherPayload = { voucher: voucherToJson(voucher), signature };
      return { x402Version: 2, payload: payload as unknown as Record<string, unknown> };
    } catch (error) {
      pool.release(grant);
      throw error;
    }
  }

  /** The voucher a payload carries and the tab it belongs to. */
  sent(payload: Record<string, unknown>, requirements: PaymentRequirements): SentVoucher {
    const parsed = voucherPayloadSchema.parse(payload);
    const { chainId, vault } = this.#terms(requirements);
    const voucher = voucherFromJson(parsed.voucher);
    return { voucher, chainId, scope: this.#scope(requirements.network, vault, voucher.operator, parsed.voucher.modelId) };
  }

  /** The lane states this client holds for a tab. */
  async lanes(scope: LaneScope): Promise<LaneState[]> {
    return (await this.#pool(scope)).states();
  }

  /** Frees the lane of a call that got no answer at all (the request never arrived, or the answer was lost for good). */
  abandon(payload: Record<string, unknown>): void {
    this.#release(payload);
  }

  /** Frees the lane of a call the gateway refused with 409 lane_busy, and keeps calls off that lane for `ms`. */
  laneBusy(payload: Record<string, unknown>, ms = 1_000): void {
    const held = this.#heldFor(payload);
    if (!held) return;
    held.pool.avoid(held.grant.lane, ms);
    this.#release(payload);
  }

  async #onPaymentResponse(ctx: PaymentResponseContext): Promise<void | { recovered: true }> {
    if (ctx.requirements.scheme !== VOUCHER_SCHEME) return;
    const payload = ctx.paymentPayload.payload;
    const sent = this.sent(payload, ctx.requirements);
    try {
      if (ctx.settleResponse?.success) {
        await this.#adoptAnswered(sent, payload, ctx.settleResponse.extra);
        return;
      }
      if (ctx.paymentRequired?.error === OUT_OF_SYNC) {
        return (await this.#resync(sent, ctx.paymentRequired.accepts)) ? { recovered: true } : undefined;
      }
    } finally {
      this.#release(payload);
    }
  }

  /** A paid answer: the lane is now at the voucher that paid it. */
  async #adoptAnswered(sent: SentVoucher, payload: Record<string, unknown>, extra: Record<string, unknown> | undefined): Promise<void> {
    const { voucher, scope } = sent;
    const signature = (payload as unknown as VoucherPayload).signature;
    const signed: LaneState = {
      lane: voucher.lane,
      cumulativeAmount: voucher.cumulativeAmount.toString(),
      cumulativeCalls: voucher.cumulativeCalls.toString(),
      expiry: voucher.expiry.toString(),
      signature,
    };
    // The gateway answered, so it holds this voucher: the lane is there whatever the response says.
    await this.#adopt(scope, signed, false);
    const lane = laneStateSchema.safeParse(extra?.lane);
    if (!lane.success) throw new VoucherStateError(`the PAYMENT-RESPONSE has no valid lane state (extra.lane) for lane ${voucher.lane}`);
    const got = lane.data;
    if (
      got.lane !== signed.lane ||
      got.cumulativeAmount !== signed.cumulativeAmount ||
      got.cumulativeCalls !== signed.cumulativeCalls ||
      got.expiry !== signed.expiry ||
      (got.signature !== undefined && got.signature.toLowerCase() !== signature.toLowerCase())
    ) {
      throw new VoucherStateError(
        `the gateway answered lane ${signed.lane} with state ${got.cumulativeAmount} after ${got.cumulativeCalls} calls, ` +
          `not the voucher it was paid with (${signed.cumulativeAmount} after ${signed.cumulativeCalls} calls)`,
      );
    }
    if (this.#o.verifyReceipts === false) return;
    const receipt = extra?.receipt as SignedReceiptJson | undefined;
    const check = receipt?.receipt
      ? await verifyReceipt(receipt, { chainId: sent.chainId, vault: sent.scope.vault }, voucherReceiptExpectation(sent))
      : { ok: false as const, reason: "the PAYMENT-RESPONSE carries no receipt" };
    if (!check.ok) throw new ReceiptError(check.reason, receipt);
  }

  /** A corrective 402: adopts the gateway's state of the lanes it names, once each is shown to be the payer's. */
  async #resync(sent: SentVoucher, accepts: PaymentRequirements[]): Promise<boolean> {
    const { voucher, scope, chainId } = sent;
    const offer = accepts.find((a) => a.scheme === VOUCHER_SCHEME && a.network === scope.network);
    const extra = offer ? voucherRequirementsExtraSchema.safeParse(offer.extra) : undefined;
    if (!extra?.success || !extra.data.tabs?.length) {
      throw new VoucherResyncError("the gateway says the voucher is out of sync but offers no lane state to continue from");
    }
    const { payer, operator, tabs } = extra.data;
    if (!payer || !isAddressEqual(payer, this.payer) || !isAddressEqual(operator, voucher.operator)) {
      throw new VoucherResyncError(`the corrective 402 is for payer ${payer ?? "(none)"} and operator ${operator}, not ${this.payer} and ${voucher.operator}`);
    }
    const context = {
      chainId,
      vault: scope.vault,
      payer: this.payer,
      operator: voucher.operator,
      modelId: voucher.modelId,
      knownSigners: [this.payer, this.signer.address],
      publicClient: this.#o.publicClient,
    };
    for (const state of tabs) await checkOfferedLane(state, context);
    for (const state of tabs) await this.#adopt(scope, state, true);
    return tabs.some((state) => state.lane === voucher.lane);
  }

  /** Records a lane state; a paid answer only moves a lane forward, a verified correction may move it either way. */
  async #adopt(scope: LaneScope, state: LaneState, correction: boolean): Promise<void> {
    const pool = await this.#pool(scope);
    const current = pool.state(state.lane);
    if (!correction && current && BigInt(current.cumulativeCalls) > BigInt(state.cumulativeCalls)) return;
    pool.set(state);
    await this.#store.save(scope, state);
  }

  /** Drops calls whose outcome was never reported (their leases ran out), so a long-lived client does not grow. */
  #forgetExpired(): void {
    for (const [signature, held] of this.#held) if (!held.pool.holds(held.grant)) this.#held.delete(signature);
  }

  #heldFor(payload: Record<string, unknown>) {
    const signature = (payload as { signature?: unknown }).signature;
    return typeof signature === "string" ? this.#held.get(signature.toLowerCase()) : undefined;
  }

  #release(payload: Record<string, unknown>): void {
    const held = this.#heldFor(payload);
    if (!held) return;
    this.#held.delete(((payload as { signature: string }).signature).toLowerCase());
    held.pool.release(held.grant);
  }

  #terms(requirements: PaymentRequirements): { chainId: number; vault: Address; extra: VoucherRequirementsExtra } {
    const chainId = chainIdOf(requirements.network);
    if (chainId === undefined) throw new Error(`the voucher scheme pays on eip155 networks, not ${requirements.network}`);
    const parsed = voucherRequirementsExtraSchema.safeParse(requirements.extra);
    if (!parsed.success) throw new Error(`the voucher requirements' extra is malformed: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    const vault = getAddress(requirements.payTo);
    if (this.#o.vault && !isAddressEqual(this.#o.vault, vault)) {
      throw new Error(`the gateway asks for vouchers on vault ${vault}, not the expected vault ${this.#o.vault}`);
    }
    return { chainId, vault, extra: parsed.data };
  }

  #scope(network: string, vault: Address, operator: Address, modelId: string): LaneScope {
    return { network, vault, payer: this.payer, operator: getAddress(operator), modelId: BigInt(modelId).toString() };
  }

  #pool(scope: LaneScope): Promise<LanePool> {
    const key = scopeKey(scope);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = Promise.resolve(this.#store.load(scope)).then((states) => new LanePool(states, this.#now));
      this.#pools.set(key, pool);
      pool.catch(() => this.#pools.delete(key));
    }
    return pool;
  }
}

/** What the receipt of a voucher-paid call must say: signed by the voucher's operator, for its payer, model and
 *  lane (the vault's tab key), with the voucher's cumulative amount and call count. */
export function voucherReceiptExpectation(sent: SentVoucher): ReceiptExpectation {
  const { voucher } = sent;
  return {
    operator: voucher.operator,
    payer: voucher.payer,
    modelId: voucher.modelId,
    payment: voucherTabKey(voucher.payer, voucher.operator, voucher.modelId, voucher.lane),
    cumulativeAmount: voucher.cumulativeAmount,
    callIndex: voucher.cumulativeCalls,
  };
}
